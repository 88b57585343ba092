"""Who is typing (issue 10): never stored, throttled per user and room, only to others in
the room, through a real server and WebSocket."""
import pytest

from tests.clients import OverHttp, Socket, data, error_code, until_heard
from tests.helpers import make_room, on_the_full_stack, post_table_sizes, user_with_token

SEND = "mutation($input: RoomInput!) { sendTyping(input: $input) { sent } }"
TYPING = "subscription($input: RoomInput!) { typing(input: $input) { roomId userId username expiresInSeconds } }"
GENERAL = {"input": {"roomId": "general"}}


def typed(api, token):
    """sendTyping in general; whether it was sent (false: throttled)."""
    return data(api(SEND, GENERAL, token=token), "sendTyping")["sent"]


def typing_until_heard(api, token, socket, op_id):
    """Type until the reader's live subscription hears it (each try waits out the interval,
    so the throttle doesn't swallow it); what the reader heard."""

    def type_once():
        assert typed(api, token) is True

    return until_heard(socket, op_id, type_once)["typing"]


@pytest.mark.django_db(transaction=True)
def test_others_see_who_is_typing_once_per_interval_and_nothing_is_stored(embedded_web, general):
    (ann_user, ann), (_, bea) = user_with_token("typist"), user_with_token("typist")
    make_room("elsewhere")
    api = OverHttp(embedded_web.url)
    tables_before = post_table_sizes()
    with Socket(embedded_web.ws_url) as bea_socket, Socket(embedded_web.ws_url) as ann_socket:
        bea_socket.init(bea)
        ann_socket.init(ann)
        watching = bea_socket.subscribe(TYPING, GENERAL)
        own = ann_socket.subscribe(TYPING, GENERAL)
        other_room = bea_socket.subscribe(TYPING, {"input": {"roomId": "elsewhere"}})
        seen = typing_until_heard(api, ann, bea_socket, watching)
        assert seen == {"roomId": "general", "userId": str(ann_user.pk), "username": ann_user.username, "expiresInSeconds": 6}
        assert typed(api, ann) is False, "within 3 s: throttled, not an error"
        bea_socket.assert_silent(1.0)  # neither the throttled one nor the other room's
        ann_socket.assert_silent(0.5)  # nor one's own
        assert own and other_room
    assert post_table_sizes() == tables_before, "typing is never stored"


@pytest.mark.django_db(transaction=True)
def test_typing_in_a_room_you_cant_post_in_is_refused(embedded_web, general):
    _, ann = user_with_token("typist")
    api = OverHttp(embedded_web.url)
    make_room("frozen", locked=True)
    assert error_code(api(SEND, {"input": {"roomId": "frozen"}}, token=ann)) == "FORBIDDEN"
    assert error_code(api(SEND, {"input": {"roomId": "nowhere"}}, token=ann)) == "NOT_FOUND"
    assert error_code(api(SEND, GENERAL)) == "UNAUTHENTICATED"


@on_the_full_stack
def test_typing_on_one_web_process_reaches_a_reader_on_another(full_stack, general):
    (ann_user, ann), (_, bea) = user_with_token("typist"), user_with_token("typist")
    with Socket(full_stack.web2.ws_url).init(bea) as bea_socket:
        watching = bea_socket.subscribe(TYPING, GENERAL)
        seen = typing_until_heard(OverHttp(full_stack.web1.url), ann, bea_socket, watching)
    assert seen["username"] == ann_user.username


@on_the_full_stack
def test_typing_is_announced_once_per_interval_across_web_processes(full_stack, general):
    """Ann's sendTyping through one web process, then through another within the interval:
    her readers get one frame, and the second call answers `sent: false`."""
    (ann_user, ann), (_, bea) = user_with_token("typist"), user_with_token("typist")
    web1, web2 = OverHttp(full_stack.web1.url), OverHttp(full_stack.web2.url)
    with Socket(full_stack.web1.ws_url).init(bea) as bea_socket:
        watching = bea_socket.subscribe(TYPING, GENERAL)
        seen = typing_until_heard(web1, ann, bea_socket, watching)
        assert seen["username"] == ann_user.username
        again = typed(web2, ann)
        bea_socket.assert_silent(1.0)  # one frame, whichever process Ann's calls reach
        assert again is False
