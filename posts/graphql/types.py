"""The posts' GraphQL types and inputs, each resolved from the payload dicts the rules return
(`Post.as_payload`, room events, read states): the same for every path."""
import graphene
from django.conf import settings
from django.utils.dateparse import parse_datetime

from chatsite.graphql import required_scalars
from posts import models, selectors
from posts.presence import SHOWN_MAX
from posts.reactions import REACTION_NAMES_MAX
from posts.selectors import UNREAD_COUNT_MAX


class ReplyTo(graphene.ObjectType):
    """What a reply shows of the post it answers."""

    id = graphene.ID(required=True)
    author = graphene.String(required=True)
    excerpt = graphene.String(
        required=True,
        description=f"Its first line, at most {models.EXCERPT_MAX} characters (cut with \"…\"); empty when it was deleted.",
    )
    deleted = graphene.Boolean(required=True, description="The post answered was deleted since.")


class Thread(graphene.ObjectType):
    """A thread: its root post (the first of it), how many replies it has, the newest one's time."""

    id = graphene.ID(required=True, description="The root post's id: `thread(input: {postId})` reads the thread.")
    reply_count = graphene.Int(required=True, description="Its replies that are not deleted.")
    last_reply_at = graphene.DateTime(description="The newest reply's time (null when none is left).")

    def resolve_last_reply_at(root, info):
        return parse_datetime(root["last_reply_at"]) if root.get("last_reply_at") else None


class Reaction(graphene.ObjectType):
    """One emoji on a post: how many people reacted with it, and the first of them."""

    emoji = graphene.String(required=True)
    count = graphene.Int(required=True)
    users = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description=f"The usernames of the first {REACTION_NAMES_MAX} to react with it (`count` has them all).",
    )


class Post(graphene.ObjectType):
    """Resolved from the post's payload dict (`Post.as_payload`), the same for every path."""

    id = graphene.ID(required=True)
    room_id = graphene.ID(required=True)
    seq = graphene.Int(
        required=True,
        description="The post's position in its room: increasing, the same for every reader; gaps allowed.",
    )
    user_id = graphene.ID()
    author = graphene.String(required=True)
    body = graphene.String(required=True)
    is_bot = graphene.Boolean(required=True)
    created_at = graphene.DateTime(required=True)
    edited_at = graphene.DateTime(description="When the author last edited it; null if never (shown as \"(edited)\").")
    deleted = graphene.Boolean(
        required=True,
        description="Deleted by its author or a moderator: the body is empty (only in roomEvents, and a thread's deleted root).",
    )
    reply_to = graphene.Field(ReplyTo, description="The post this one replies to (createPost's `replyTo`); null if none.")
    thread = graphene.Field(
        Thread,
        description=(
            "A reply's thread, or the post's own once it has had replies (null otherwise): a reply's "
            "event carries its thread's new count, for readers to show on the root."
        ),
    )
    reactions = graphene.List(
        graphene.NonNull(Reaction), required=True, description="Its reactions, one per emoji, in `reactionEmoji`'s order."
    )

    def resolve_created_at(root, info):
        return parse_datetime(root["created_at"])

    def resolve_edited_at(root, info):
        return parse_datetime(root["edited_at"]) if root.get("edited_at") else None

    def resolve_deleted(root, info):
        return bool(root.get("deleted"))

    def resolve_reactions(root, info):
        return root.get("reactions") or []


RoomEventKind = graphene.Enum.from_enum(
    models.RoomEventKind,
    description="What happened at a position of a room: a post was created, edited, deleted, or reacted to.",
)


class ReactionChange(graphene.ObjectType):
    """Someone added or removed a reaction (the event's post has the counts after it)."""

    emoji = graphene.String(required=True)
    added = graphene.Boolean(required=True, description="Added; false: removed.")
    user_id = graphene.ID()


class RoomEvent(graphene.ObjectType):
    """Something that happened in a room, at its own position in the room's order."""

    seq = graphene.Int(
        required=True,
        description="The event's position in the room: a created post's is its seq; edits and deletions take their own.",
    )
    kind = graphene.Field(RoomEventKind, required=True)
    post = graphene.Field(Post, required=True, description="The post as it is now (a deleted one has no body).")
    reaction = graphene.Field(ReactionChange, description="A REACTED event's change (null for other kinds).")

    def resolve_kind(root, info):
        return root["kind"]


# The read state's descriptions, for ReadState and for Room (rooms/schema.py) alike: the counts
# stop at UNREAD_COUNT_MAX.
CAPPED = f"at most {UNREAD_COUNT_MAX}: {UNREAD_COUNT_MAX} means {UNREAD_COUNT_MAX} or more."
LAST_READ_SEQ = "The newest position the caller has seen (markRead)."
MENTION_COUNT = f"Those of them that mention @the caller, {CAPPED}"
MUTED = "The caller muted the room (muteRoom): no notification, and its unread count is never shown as urgent."


class ReadState(graphene.ObjectType):
    """How far the caller has read a room, and what is new there for them."""

    room_id = graphene.ID(required=True)
    last_read_seq = graphene.Int(required=True, description=LAST_READ_SEQ)
    unread_count = graphene.Int(required=True, description=f"Posts by others after it (deleted ones don't count), {CAPPED}")
    mention_count = graphene.Int(required=True, description=MENTION_COUNT)
    muted = graphene.Boolean(required=True, description=MUTED)
    position = graphene.Int(
        required=True,
        description=(
            "The room's newest position when these were counted: a client adds the posts it "
            "sees live (roomEvents) with a greater seq, so none is counted twice or missed."
        ),
    )


class Typing(graphene.ObjectType):
    """Someone is typing in the room: show it for `expiresInSeconds` unless it comes again."""

    room_id = graphene.ID(required=True)
    user_id = graphene.ID(required=True)
    username = graphene.String(required=True)
    expires_in_seconds = graphene.Int(required=True)


PresentUser = required_scalars("PresentUser", graphene.ObjectType, user_id=graphene.ID, username=graphene.String)


class Presence(graphene.ObjectType):
    """Who has the room open now (a roomEvents subscription, as the room page keeps)."""

    room_id = graphene.ID(required=True)
    version = graphene.Int(required=True, description="Increases with every change: keep the highest one seen.")
    count = graphene.Int(required=True)
    users = graphene.List(graphene.NonNull(PresentUser), required=True, description=f"By name, at most {SHOWN_MAX}.")


RoomInput = required_scalars("RoomInput", graphene.InputObjectType, room_id=graphene.ID)


class SendTypingResponse(graphene.ObjectType):
    sent = graphene.Boolean(
        required=True, description=f"False when one was sent less than TYPING_INTERVAL_SECONDS ({settings.TYPING_INTERVAL_SECONDS:g}) ago: not an error."
    )


class MuteRoomInput(graphene.InputObjectType):
    room_id = graphene.ID(required=True)
    muted = graphene.Boolean(required=True, description="True mutes the room, false unmutes it.")


class MarkReadInput(graphene.InputObjectType):
    room_id = graphene.ID(required=True)
    seq = graphene.Int(required=True, description="The newest position the reader has seen (a post's or an event's seq).")


PostError = required_scalars(
    "PostError",
    graphene.ObjectType,
    request_id=graphene.ID,
    room_id=graphene.ID,
    user_id=graphene.ID,
    body=graphene.String,
    reason=graphene.String,
)
CreatePostResponse = required_scalars(
    "CreatePostResponse", graphene.ObjectType, success=graphene.Boolean, request_id=graphene.ID
)


class PostsInput(graphene.InputObjectType):
    """Ordered by seq, oldest first. No cursor: the newest `limit` posts."""

    room_id = graphene.ID(required=True)
    before = graphene.Int(description="The newest `limit` posts with a smaller seq (paging back).")
    after = graphene.Int(description="The oldest `limit` posts with a greater seq (catching up).")
    limit = graphene.Int(default_value=selectors.HISTORY_MAX, description=f"1 to {selectors.HISTORY_MAX}.")


class CreatePostInput(graphene.InputObjectType):
    room_id = graphene.ID(required=True)
    body = graphene.String(required=True)
    client_id = graphene.String()
    reply_to = graphene.ID(
        description=(
            "The id of the post this one replies to, in the same room and not deleted (NOT_FOUND "
            "otherwise); the reply joins that post's thread. Not for a command (BAD_USER_INPUT)."
        )
    )


class ThreadInput(graphene.InputObjectType):
    """A thread's posts, ordered by seq, oldest first: its root, then its replies. No cursor: the newest `limit`."""

    post_id = graphene.ID(required=True, description="Any post of the thread: its root or one of its replies.")
    before = graphene.Int(description="The newest `limit` posts with a smaller seq (paging back).")
    after = graphene.Int(description="The oldest `limit` posts with a greater seq (catching up).")
    limit = graphene.Int(default_value=selectors.HISTORY_MAX, description=f"1 to {selectors.HISTORY_MAX}.")


class ReactionInput(graphene.InputObjectType):
    post_id = graphene.ID(required=True)
    emoji = graphene.String(required=True, description="One of `reactionEmoji` (BAD_USER_INPUT otherwise).")


EditPostInput = required_scalars("EditPostInput", graphene.InputObjectType, post_id=graphene.ID, body=graphene.String)
DeletePostInput = required_scalars("DeletePostInput", graphene.InputObjectType, post_id=graphene.ID)
DeletePostResponse = required_scalars("DeletePostResponse", graphene.ObjectType, success=graphene.Boolean)


def room_stream_input(name, kind, more):
    """The input of a subscription to a room's `kind`s: the room, and `after`, where to resume
    (`more`: the rest of the first sentence of its description, and any sentences after it)."""
    room_id = graphene.ID(required=True)
    after = graphene.Int(
        description=(
            f"Resume: every {kind} of the room with a greater seq, once and in order, then the live "
            f"ones{more} Without it: live {kind}s only."
        )
    )
    return type(name, (graphene.InputObjectType,), {"room_id": room_id, "after": after})


RoomEventsInput = room_stream_input("RoomEventsInput", "event", " (as for postCreated).")
PostCreatedInput = room_stream_input(
    "PostCreatedInput",
    "post",
    ". Read the history, then subscribe with `after` = the newest seq read, and no post can slip "
    f"between the two. More than STREAM_RESUME_MAX ({settings.STREAM_RESUME_MAX:,}) missed: the error "
    "TOO_FAR_BEHIND, and the client reloads the history.",
)
