"""Who is typing (issue 10): never stored, throttled per user and room, only to others in
the room, through a real server and WebSocket."""
import pytest

from rooms.models import Room
from tests.graphql_client import OverHttp, error_code
from tests.helpers import user_with_token

SEND = "mutation($input: RoomInput!) { sendTyping(input: $input) { sent } }"
TYPING = "subscription($input: RoomInput!) { typing(input: $input) { roomId userId username expiresInSeconds } }"


def make_user():
    return user_with_token("typist")


@pytest.mark.django_db(transaction=True)
def test_others_see_who_is_typing_once_per_interval_and_nothing_is_stored(embedded_web, general):
    web = embedded_web
    from tests.test_websocket import Socket

    ann_user, ann = make_user()
    _, bea = make_user()
    Room.objects.create(id="elsewhere", name="Elsewhere")
    api = OverHttp(web.url)
    tables_before = table_sizes()
    with Socket(web.ws_url) as bea_socket, Socket(web.ws_url) as ann_socket:
        bea_socket.init(bea)
        ann_socket.init(ann)
        watching = bea_socket.subscribe(TYPING, {"input": {"roomId": "general"}})
        own = ann_socket.subscribe(TYPING, {"input": {"roomId": "general"}})
        other_room = bea_socket.subscribe(TYPING, {"input": {"roomId": "elsewhere"}})
        # A subscription has no acknowledgement: type until Bea sees it (each try waits out
        # the interval, so the throttle doesn't swallow it).
        for _ in range(5):
            sent = api(SEND, {"input": {"roomId": "general"}}, token=ann)["data"]["sendTyping"]["sent"]
            assert sent is True
            try:
                seen = bea_socket.next_payload(watching, timeout=3.2)["typing"]
                break
            except TimeoutError:
                continue
        assert seen == {"roomId": "general", "userId": str(ann_user.pk), "username": ann_user.username, "expiresInSeconds": 6}
        again = api(SEND, {"input": {"roomId": "general"}}, token=ann)["data"]["sendTyping"]["sent"]
        assert again is False, "within 3 s: throttled, not an error"
        bea_socket.assert_silent(1.0)  # neither the throttled one nor the other room's
        ann_socket.assert_silent(0.5)  # nor one's own
        assert own and other_room
    assert table_sizes() == tables_before, "typing is never stored"


@pytest.mark.django_db(transaction=True)
def test_typing_in_a_room_you_cant_post_in_is_refused(embedded_web, general):
    web = embedded_web
    _, ann = make_user()
    api = OverHttp(web.url)
    Room.objects.create(id="frozen", name="Frozen", locked=True)
    assert error_code(api(SEND, {"input": {"roomId": "frozen"}}, token=ann)) == "FORBIDDEN"
    assert error_code(api(SEND, {"input": {"roomId": "nowhere"}}, token=ann)) == "NOT_FOUND"
    assert error_code(api(SEND, {"input": {"roomId": "general"}})) == "UNAUTHENTICATED"


def table_sizes():
    from posts.models import Post, PostChange, PostRequest

    return [model.objects.count() for model in (Post, PostChange, PostRequest)]


@pytest.mark.fullstack
@pytest.mark.django_db(transaction=True)
def test_typing_on_one_web_process_reaches_a_reader_on_another(full_stack, general):
    from tests.test_websocket import Socket

    ann_user, ann = make_user()
    _, bea = make_user()
    api = OverHttp(full_stack.web1.url)
    with Socket(full_stack.web2.ws_url) as bea_socket:
        bea_socket.init(bea)
        watching = bea_socket.subscribe(TYPING, {"input": {"roomId": "general"}})
        for _ in range(5):
            api(SEND, {"input": {"roomId": "general"}}, token=ann)
            try:
                seen = bea_socket.next_payload(watching, timeout=3.2)["typing"]
                break
            except TimeoutError:
                continue
    assert seen["username"] == ann_user.username


@pytest.mark.fullstack
@pytest.mark.django_db(transaction=True)
def test_typing_is_announced_once_per_interval_across_web_processes(full_stack, general):
    """Ann's sendTyping through one web process, then through another within the interval:
    her readers get one frame, and the second call answers `sent: false`."""
    from tests.test_websocket import Socket

    ann_user, ann = make_user()
    _, bea = make_user()
    web1, web2 = OverHttp(full_stack.web1.url), OverHttp(full_stack.web2.url)
    with Socket(full_stack.web1.ws_url) as bea_socket:
        bea_socket.init(bea)
        watching = bea_socket.subscribe(TYPING, {"input": {"roomId": "general"}})
        for _ in range(5):  # until Bea's subscription is live (each try waits out the interval)
            assert web1(SEND, {"input": {"roomId": "general"}}, token=ann)["data"]["sendTyping"]["sent"] is True
            try:
                seen = bea_socket.next_payload(watching, timeout=3.2)["typing"]
                break
            except TimeoutError:
                continue
        assert seen["username"] == ann_user.username
        again = web2(SEND, {"input": {"roomId": "general"}}, token=ann)["data"]["sendTyping"]["sent"]
        bea_socket.assert_silent(1.0)  # one frame, whichever process Ann's calls reach
        assert again is False
