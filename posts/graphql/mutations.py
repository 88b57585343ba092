"""The posts' mutations: each checks who calls and hands on to the rules (posts/posting.py,
changes.py, reactions.py, read_state.py, typing.py)."""
import graphene
from django.conf import settings

from chatsite.graphql import caller, mutation
from posts import changes, posting, reactions, read_state, typing
from posts.graphql.types import (
    CreatePostInput,
    CreatePostResponse,
    DeletePostInput,
    DeletePostResponse,
    EditPostInput,
    MarkReadInput,
    MuteRoomInput,
    Post,
    ReactionInput,
    ReadState,
    RoomInput,
    SendTypingResponse,
)


def create_post(info, input):
    request_id = posting.request_post(
        user=caller(info), room_id=input.room_id, body=input.body, client_id=input.client_id, reply_to=input.reply_to
    )
    return CreatePostResponse(success=True, request_id=request_id)


def edit_post(info, input):
    return changes.edit_post(user=caller(info), post_id=input.post_id, body=input.body)


def delete_post(info, input):
    """Delete your own post (a moderator: any post). Every reader gets a DELETED room event."""
    changes.delete_post(user=caller(info), post_id=input.post_id)
    return DeletePostResponse(success=True)


def add_reaction(info, input):
    return reactions.react(user=caller(info), post_id=input.post_id, emoji=input.emoji, on=True)


def remove_reaction(info, input):
    return reactions.react(user=caller(info), post_id=input.post_id, emoji=input.emoji, on=False)


def mark_read(info, input):
    return read_state.mark_read(user=caller(info), room_id=input.room_id, seq=input.seq)


def mute_room(info, input):
    return read_state.mute_room(user=caller(info), room_id=input.room_id, muted=input.muted)


def send_typing(info, input):
    return SendTypingResponse(sent=typing.typing(user=caller(info), room_id=input.room_id))


# Descriptions that quote settings are f-strings, so they can't be docstrings.
class Mutation(graphene.ObjectType):
    create_post = mutation(CreatePostResponse, CreatePostInput, create_post)
    send_typing = mutation(SendTypingResponse, RoomInput, send_typing, description=(
        "Tell the room's readers you are typing (call it as keys are pressed; the server sends "
        f"at most one every {settings.TYPING_INTERVAL_SECONDS:g} seconds). Never stored."
    ))
    mark_read = mutation(ReadState, MarkReadInput, mark_read, description=(
        "The caller has read the room up to `seq` (it never moves back). The caller's other "
        f"sessions get the new state through readStateChanged. At most {settings.MARK_READ_RATE_LIMIT} "
        f"calls per user in any {settings.MARK_READ_WINDOW_SECONDS:g} seconds (MARK_READ_RATE_LIMIT), "
        "aliases included: past it, RATE_LIMITED."
    ))
    mute_room = mutation(ReadState, MuteRoomInput, mute_room, description=(
        "Mute or unmute a room for the caller: a muted room raises no notification and its "
        "unread count is not shown as urgent (it is still counted). The caller's other sessions "
        f"get the new state through readStateChanged. At most {settings.MUTE_ROOM_RATE_LIMIT} calls "
        "per user a minute (MUTE_ROOM_RATE_LIMIT): past it, RATE_LIMITED."
    ))
    edit_post = mutation(Post, EditPostInput, edit_post, description=(
        f"Change your own post's text, within {settings.POST_EDIT_WINDOW_SECONDS // 60} minutes of sending it "
        "(POST_EDIT_WINDOW_SECONDS). Every reader gets it as an EDITED room event."
    ))
    delete_post = mutation(DeletePostResponse, DeletePostInput, delete_post)
    add_reaction = mutation(Post, ReactionInput, add_reaction, description=(
        "React to a post with one of `reactionEmoji`: once per person and emoji (again: no change). "
        "Every reader gets a REACTED room event with the post's new counts. Rate limited like posts "
        f"({settings.RATE_LIMIT_POSTS} reaction changes in {settings.RATE_LIMIT_WINDOW_SECONDS:g} s, counted apart)."
    ))
    remove_reaction = mutation(Post, ReactionInput, remove_reaction, description=(
        "Take back your reaction (none: no change). A REACTED room event, as for addReaction; the same rate limit."
    ))
