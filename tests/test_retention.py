"""Rows are kept as long as a rule needs them, then swept (chatsite/retention.py): each rule
holds at its boundary, the rows go after it, and the sweep runs by itself in the embedded
web process and in the full stack's `posts` worker."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Attempt
from chatsite import retention, throttle
from posts import posting as posts
from posts.models import Post, PostRequest
from tests.clients import PASSWORD
from tests.helpers import outcome, user_with_token
from tests.stack import Web, Worker, ready, wait_until

pytestmark = pytest.mark.usefixtures("general")

MARGIN = timedelta(seconds=30)


def ago(delta):
    return timezone.now() - delta



@pytest.mark.django_db
def test_failed_logins_lock_until_the_window_ends_and_are_swept_after_it(settings):
    get_user_model().objects.create_user(username="locked", password=PASSWORD)
    for _ in range(settings.LOGIN_FAILURES_MAX):
        throttle.record("login-failure", "locked")
    window = timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    assert throttle.longest_window_seconds() == settings.LOGIN_LOCKOUT_SECONDS  # the defaults' longest

    Attempt.objects.update(at=ago(window - MARGIN))
    assert retention.sweep()["attempts"] == 0
    assert outcome(lambda: accounts.log_in(username="locked", password=PASSWORD)) == "RATE_LIMITED"

    Attempt.objects.update(at=ago(window + MARGIN))
    assert retention.sweep()["attempts"] == settings.LOGIN_FAILURES_MAX
    assert not Attempt.objects.exists()
    assert outcome(lambda: accounts.log_in(username="locked", password=PASSWORD)) == "OK"


@pytest.mark.django_db
def test_an_address_throttle_counts_until_its_window_ends_and_is_swept_after_the_longest(settings):
    settings.SIGNUPS_PER_ADDRESS, settings.SIGNUP_WINDOW_SECONDS = 2, 600
    for n in range(2):
        accounts.sign_up(username=f"early{n}", password=PASSWORD, client="198.51.100.1")
    Attempt.objects.update(at=ago(timedelta(seconds=settings.SIGNUP_WINDOW_SECONDS) - MARGIN))
    retention.sweep()
    assert outcome(lambda: accounts.sign_up(username="late", password=PASSWORD, client="198.51.100.1")) == "RATE_LIMITED"

    Attempt.objects.update(at=ago(timedelta(seconds=throttle.longest_window_seconds()) + MARGIN))
    assert retention.sweep()["attempts"] == 2
    assert outcome(lambda: accounts.sign_up(username="late", password=PASSWORD, client="198.51.100.1")) == "OK"


@pytest.mark.django_db
def test_a_client_id_returns_the_first_request_for_its_retention_then_the_request_is_swept(settings):
    user, _ = user_with_token()
    first = posts.request_post(user=user, room_id="general", body="hello", client_id="c-1")
    assert PostRequest.objects.get().state == PostRequest.State.STORED
    retention_time = timedelta(seconds=settings.CLIENT_ID_RETENTION_SECONDS)
    assert retention_time == timedelta(hours=24)

    PostRequest.objects.update(created_at=ago(retention_time - MARGIN))
    assert retention.sweep()["post_requests"] == 0
    assert posts.request_post(user=user, room_id="general", body="hello", client_id="c-1") == first
    assert Post.objects.count() == 1

    PostRequest.objects.update(created_at=ago(retention_time + MARGIN))
    assert retention.sweep()["post_requests"] == 1
    assert not PostRequest.objects.exists()
    assert Post.objects.get().request_id == first, "the post itself stays"
    assert posts.request_post(user=user, room_id="general", body="hello", client_id="c-1") != first
    assert Post.objects.count() == 2


@pytest.mark.django_db
def test_the_post_rate_limit_counts_requests_the_sweep_keeps_for_its_window(settings):
    settings.CLIENT_ID_RETENTION_SECONDS = 0  # the rate window alone decides
    settings.RATE_LIMIT_WINDOW_SECONDS = 60
    user, _ = user_with_token()
    for n in range(settings.RATE_LIMIT_POSTS):
        posts.request_post(user=user, room_id="general", body=f"post {n}")
    assert retention.sweep()["post_requests"] == 0
    assert outcome(lambda: posts.request_post(user=user, room_id="general", body="one too many")) == "RATE_LIMITED"

    PostRequest.objects.update(created_at=ago(timedelta(seconds=settings.RATE_LIMIT_WINDOW_SECONDS + 1)))
    assert retention.sweep()["post_requests"] == settings.RATE_LIMIT_POSTS
    assert outcome(lambda: posts.request_post(user=user, room_id="general", body="now it fits")) == "OK"


@pytest.mark.django_db
def test_a_pending_request_stays_however_old_until_it_is_stored_or_failed():
    user, _ = user_with_token()
    pending = PostRequest.objects.create(user=user, room_id="general", body="on its way")
    PostRequest.objects.filter(pk=pending.pk).update(created_at=ago(timedelta(days=30)))
    assert retention.sweep()["post_requests"] == 0
    PostRequest.objects.filter(pk=pending.pk).update(state=PostRequest.State.FAILED)
    assert retention.sweep()["post_requests"] == 1


# --- the sweep runs by itself ---


def old_and_fresh_rows():
    """An attempt and a stored request past their retention, and one of each within it."""
    user, _ = user_with_token()
    old = {
        "attempt": Attempt.objects.create(kind="login-failure", key="old").pk,
        "request": PostRequest.objects.create(user=user, room_id="general", body="old", state=PostRequest.State.STORED).pk,
    }
    Attempt.objects.filter(pk=old["attempt"]).update(at=ago(timedelta(days=1)))
    PostRequest.objects.filter(pk=old["request"]).update(created_at=ago(timedelta(days=2)))
    fresh = {
        "attempt": Attempt.objects.create(kind="login-failure", key="fresh").pk,
        "request": PostRequest.objects.create(user=user, room_id="general", body="fresh", state=PostRequest.State.STORED).pk,
    }
    return old, fresh


def assert_swept_by(process, old, fresh):
    wait_until(
        lambda: not Attempt.objects.filter(pk=old["attempt"]).exists()
        and not PostRequest.objects.filter(pk=old["request"]).exists(),
        30, f"{process.label} to sweep the old rows",
    )
    assert Attempt.objects.filter(pk=fresh["attempt"]).exists()
    assert PostRequest.objects.filter(pk=fresh["request"]).exists()
    wait_until(lambda: "retention sweep: deleted" in process.log(), 10, "the sweep's log line")


@pytest.mark.django_db(transaction=True)
def test_the_embedded_web_process_sweeps_by_itself(stack_env):
    old, fresh = old_and_fresh_rows()
    env = {k: v for k, v in stack_env.items() if k != "AMQP_URL"}
    web = ready(Web({**env, "RETENTION_SWEEP_SECONDS": "0.2"}, label="sweeping"))
    try:
        assert_swept_by(web, old, fresh)
    finally:
        web.stop()


@pytest.mark.fullstack
@pytest.mark.django_db(transaction=True)
def test_the_full_stacks_posts_worker_sweeps_by_itself(stack_env, amqp_url):
    old, fresh = old_and_fresh_rows()
    worker = ready(Worker("worker", {**stack_env, "AMQP_URL": amqp_url, "RETENTION_SWEEP_SECONDS": "0.2"}, amqp_url))
    try:
        assert_swept_by(worker, old, fresh)
    finally:
        worker.stop()
