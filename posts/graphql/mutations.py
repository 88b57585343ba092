"""The posts' mutations: each checks who calls and hands on to the rules (posts/posting.py,
changes.py, read_state.py, typing.py)."""
import graphene
from django.conf import settings

from chatsite.graphql import caller
from posts import changes, posting, read_state, typing
from posts.graphql.types import (
    CreatePostInput,
    CreatePostResponse,
    DeletePostInput,
    DeletePostResponse,
    EditPostInput,
    MarkReadInput,
    Post,
    ReadState,
    RoomInput,
    SendTypingResponse,
)


class CreatePost(graphene.Mutation):
    class Arguments:
        input = CreatePostInput(required=True)

    Output = CreatePostResponse

    def mutate(root, info, input):
        request_id = posting.request_post(
            user=caller(info),
            room_id=input.room_id,
            body=input.body,
            client_id=input.client_id,
        )
        return CreatePostResponse(success=True, request_id=request_id)


class EditPost(graphene.Mutation):
    class Meta:
        description = (
            f"Change your own post's text, within {settings.POST_EDIT_WINDOW_SECONDS // 60} minutes of sending it "
            "(POST_EDIT_WINDOW_SECONDS). Every reader gets it as an EDITED room event."
        )

    class Arguments:
        input = EditPostInput(required=True)

    Output = Post

    def mutate(root, info, input):
        return changes.edit_post(user=caller(info), post_id=input.post_id, body=input.body)


class DeletePost(graphene.Mutation):
    """Delete your own post (a moderator: any post). Every reader gets a DELETED room event."""

    class Arguments:
        input = DeletePostInput(required=True)

    Output = DeletePostResponse

    def mutate(root, info, input):
        changes.delete_post(user=caller(info), post_id=input.post_id)
        return DeletePostResponse(success=True)


class MarkRead(graphene.Mutation):
    class Meta:
        description = (
            "The caller has read the room up to `seq` (it never moves back). The caller's other "
            f"sessions get the new state through readStateChanged. At most {settings.MARK_READ_RATE_LIMIT} "
            f"calls per user in any {settings.MARK_READ_WINDOW_SECONDS:g} seconds (MARK_READ_RATE_LIMIT), "
            "aliases included: past it, RATE_LIMITED."
        )

    class Arguments:
        input = MarkReadInput(required=True)

    Output = ReadState

    def mutate(root, info, input):
        return read_state.mark_read(user=caller(info), room_id=input.room_id, seq=input.seq)


class SendTyping(graphene.Mutation):
    class Meta:
        description = (
            "Tell the room's readers you are typing (call it as keys are pressed; the server sends "
            f"at most one every {settings.TYPING_INTERVAL_SECONDS:g} seconds). Never stored."
        )

    class Arguments:
        input = RoomInput(required=True)

    Output = SendTypingResponse

    def mutate(root, info, input):
        return SendTypingResponse(sent=typing.typing(user=caller(info), room_id=input.room_id))


class Mutation(graphene.ObjectType):
    create_post = CreatePost.Field()
    send_typing = SendTyping.Field()
    mark_read = MarkRead.Field()
    edit_post = EditPost.Field()
    delete_post = DeletePost.Field()
