"""The storing rules of `new.post.accepted`, called as the stage calls them, without a broker."""
import uuid

import pytest
from django.contrib.auth import get_user_model

from posts import events, posting
from posts.models import Post, PostRequest
from rooms.models import Room

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(general):
    return get_user_model().objects.create_user(username="ann")


def requested(user, body, room="general"):
    """A request as createPost records it, before the pipeline stores it."""
    return PostRequest.objects.create(user=user, room_id=room, body=body, is_command=posting.is_command(body))


def accept(request):
    """new.post.accepted for the request; the post it stored, if it stored one."""
    posting.new_post_accepted(
        request_id=str(request.request_id), room_id=request.room_id, user_id=request.user_id, body=request.body
    )
    return Post.objects.filter(request_id=request.request_id).first()


def positions(room="general"):
    return list(Post.objects.filter(room_id=room).order_by("seq").values_list("body", "seq"))


def test_posts_take_the_next_position_of_their_room(ann):
    Room.objects.create(id="other", name="Other")
    accept(requested(ann, "one"))
    accept(requested(ann, "elsewhere", room="other"))
    accept(requested(ann, "two"))
    assert positions() == [("one", 1), ("two", 2)]
    assert positions("other") == [("elsewhere", 1)]
    assert Room.objects.get(pk="general").last_seq == 2


def test_a_senders_earlier_post_still_in_the_pipeline_is_stored_first(ann):
    first, second = requested(ann, "sent first"), requested(ann, "sent second")
    accept(second)  # the second's stage ran first (another worker)
    assert positions() == [("sent first", 1), ("sent second", 2)]
    assert accept(first).seq == 1  # its own stage then finds it stored
    assert Post.objects.count() == 2
    assert set(PostRequest.objects.values_list("state", flat=True)) == {PostRequest.State.STORED}


def test_commands_and_failed_requests_are_not_pulled_forward(ann):
    command, failed, post = requested(ann, "/stock=aapl.us"), requested(ann, "lost"), requested(ann, "kept")
    PostRequest.objects.filter(pk=failed.pk).update(state=PostRequest.State.FAILED)
    accept(post)
    assert positions() == [("kept", 1)]
    assert PostRequest.objects.get(pk=command.pk).state == PostRequest.State.PENDING


def test_a_stage_run_twice_stores_the_post_once(ann):
    request = requested(ann, "twice")
    assert accept(request).pk == accept(request).pk
    assert positions() == [("twice", 1)]


def test_a_request_createpost_never_committed_is_not_stored(ann, monkeypatch):
    monkeypatch.setattr(posting, "REQUEST_COMMIT_WAIT_SECONDS", 0.05)
    ghost = PostRequest(user=ann, room_id="general", body="rolled back")  # never saved
    posting.new_post_accepted(request_id=str(ghost.request_id), room_id="general", user_id=ann.pk, body="x")
    assert not Post.objects.exists()


def test_the_bots_reply_takes_the_next_position(ann):
    command = requested(ann, "/stock=aapl.us")
    accept(requested(ann, "before the quote"))
    posting.new_post_accepted(request_id=str(command.request_id), room_id="general", user_id=None, body="quote")
    quote = Post.objects.get(request_id=command.request_id)
    assert (quote.author, quote.is_bot, quote.seq) == ("StockBot", True, 2)
    assert PostRequest.objects.get(pk=command.pk).state == PostRequest.State.STORED


def test_storing_announces_each_post_after_commit_in_order(ann, django_capture_on_commit_callbacks, monkeypatch):
    announced = []
    monkeypatch.setattr(events, "send_to_group", lambda group, message: announced.append(message["post"]["seq"]))
    requested(ann, "a")
    second = requested(ann, "b")
    with django_capture_on_commit_callbacks(execute=True):
        accept(second)
    assert announced == [1, 2]
    assert str(uuid.UUID(str(second.request_id))) == str(Post.objects.get(seq=2).request_id)


def test_a_stage_that_fails_for_good_tells_the_requester_in_a_post_error(ann, monkeypatch):
    """Issue 9: a stage whose retries are spent ends in postError to its requester, never in
    silence (run eagerly, as in the embedded mode: the same task code and retries)."""
    from django.db import DatabaseError

    errors = []
    monkeypatch.setattr(events, "send_to_group", lambda group, message: errors.append(message["error"]))

    def broken(*args):
        raise DatabaseError("the database keeps failing")

    monkeypatch.setattr(posting, "_committed_request", broken)  # inside new.post.accepted
    request_id = posting.request_post(user=ann, room_id="general", body="will it post?")
    [error] = errors
    assert (error["request_id"], error["user_id"], error["body"]) == (str(request_id), str(ann.pk), "will it post?")
    assert error["reason"] == posting.GAVE_UP_REASON
    assert PostRequest.objects.get(request_id=request_id).state == PostRequest.State.FAILED
    assert not Post.objects.exists()
