"""Who is here (issue 10): a reader with the room open (a roomEvents subscription) is listed
for everyone subscribed to presenceChanged, across web processes; a reconnect within the
grace changes nothing; each change is one frame per subscriber, with the whole list."""
import pytest

from tests.clients import Socket
from tests.helpers import named_user, on_the_full_stack
from tests.stack import Web, embedded_env, running, wait_until

ROOM_EVENTS = "subscription($input: RoomEventsInput!) { roomEvents(input: $input) { seq } }"
PRESENCE = "subscription($input: RoomInput!) { presenceChanged(input: $input) { version count users { username } } }"
GENERAL = {"input": {"roomId": "general"}}


def names(socket, op_id, timeout=10):
    presence = socket.next_payload(op_id, timeout=timeout)["presenceChanged"]
    return [user["username"] for user in presence["users"]], presence["version"]


@pytest.fixture(scope="module")
def web(stack_env):
    with running(Web(embedded_env(stack_env, PRESENCE_GRACE_SECONDS="1.5"), label="presence-embedded")) as process:
        yield process


@pytest.mark.django_db(transaction=True)
def test_readers_come_and_go_and_a_quick_reconnect_changes_nothing(web, general):
    ann, ann_token = named_user("here")
    bea, bea_token = named_user("here")
    with Socket(web.ws_url).init(bea_token) as watcher:
        watching = watcher.subscribe(PRESENCE, GENERAL)
        assert names(watcher, watching)[0] == []
        with Socket(web.ws_url).init(ann_token) as ann_page:
            ann_page.subscribe(ROOM_EVENTS, GENERAL)
            assert names(watcher, watching)[0] == [ann]
        # Ann reloads: her new page is open again within the grace.
        with Socket(web.ws_url).init(ann_token) as ann_again:
            ann_again.subscribe(ROOM_EVENTS, GENERAL)
            watcher.assert_silent(2.0)  # longer than the grace: no "gone", no "back"
            # Bea opens the room too: one frame, the whole list.
            with Socket(web.ws_url).init(bea_token) as bea_page:
                bea_page.subscribe(ROOM_EVENTS, GENERAL)
                assert names(watcher, watching)[0] == sorted([ann, bea])
                watcher.assert_silent(0.5)
            assert names(watcher, watching, timeout=5)[0] == [ann]
        assert names(watcher, watching, timeout=5)[0] == []


@on_the_full_stack
def test_presence_holds_across_two_web_processes(full_stack, general):
    ann, ann_token = named_user("here")
    _, bea_token = named_user("here")
    with Socket(full_stack.web2.ws_url).init(bea_token) as watcher:
        watching = watcher.subscribe(PRESENCE, GENERAL)
        listed, version = names(watcher, watching)
        assert ann not in listed
        with Socket(full_stack.web1.ws_url).init(ann_token) as ann_page:
            ann_page.subscribe(ROOM_EVENTS, GENERAL)
            listed, newer = names(watcher, watching)
            assert ann in listed and newer > version
        # Ann's connection moves to the other process within the grace: still here.
        with Socket(full_stack.web2.ws_url).init(ann_token) as ann_moved:
            ann_moved.subscribe(ROOM_EVENTS, GENERAL)
            watcher.assert_silent(6.0)
        listed, _ = names(watcher, watching, timeout=15)
        assert ann not in listed


def listed_now(web, token):
    """The list a reader who opens the presence subscription now is given first."""

    with Socket(web.ws_url).init(token) as socket:
        return sorted(names(socket, socket.subscribe(PRESENCE, GENERAL))[0])


def tabs_closed_at_once_leave_nobody_behind(tabs_on, listed_on):
    """Readers open the room (on `tabs_on`) and close it and a second tab within a fraction
    of a second: after the grace, not the dead-process clean-up (60 s), nobody is listed (on
    `listed_on`); and one who comes back is listed again."""

    readers = [named_user("here") for _ in range(8)]
    _, watcher_token = named_user("here")
    for _, token in readers:
        with Socket(tabs_on.ws_url).init(token) as first_tab:
            first_tab.subscribe(ROOM_EVENTS, GENERAL)
            with Socket(tabs_on.ws_url).init(token) as second_tab:
                second_tab.subscribe(ROOM_EVENTS, GENERAL)
    left = {username for username, _ in readers}
    wait_until(lambda: not left & set(listed_now(listed_on, watcher_token)), 20, "everyone who left to leave the list")
    back, back_token = readers[0]
    with Socket(tabs_on.ws_url).init(back_token) as page:
        page.subscribe(ROOM_EVENTS, GENERAL)
        wait_until(lambda: back in listed_now(listed_on, watcher_token), 20, "the reader who came back to be listed")


@pytest.mark.django_db(transaction=True)
def test_tabs_closed_at_once_leave_nobody_behind(web, general):
    tabs_closed_at_once_leave_nobody_behind(web, web)


@on_the_full_stack
def test_tabs_closed_at_once_on_one_process_leave_nobody_behind_on_another(full_stack, general):
    tabs_closed_at_once_leave_nobody_behind(full_stack.web1, full_stack.web2)
