"""Post ids as clients see them tell nothing of what is posted elsewhere (posts.public_ids)."""
import pytest

from django.test import Client

from posts.public_ids import post_pk, public_post_id
from tests.clients import InProcess
from tests.helpers import add_post, user_with_token

pytestmark = pytest.mark.django_db

HISTORY = "query($room: ID!) { posts(input: {roomId: $room}) { id seq body } }"


def test_a_public_rooms_post_ids_show_no_count_of_posts_elsewhere(general):
    """Between two posts of a public room, 97 go to other rooms: the two ids a reader of the
    room gets are not numbers 98 apart, nor in any order one could count from."""
    from rooms.models import Room

    Room.objects.create(id="elsewhere", name="Elsewhere", is_private=True)
    first = add_post(general, "first")
    for n in range(97):
        add_post("elsewhere", f"hidden {n}")
    second = add_post(general, "second")
    assert second.pk - first.pk == 98
    _, token = user_with_token("reader")
    shown = InProcess(Client())(HISTORY, {"room": "general"}, token=token)["data"]["posts"]
    ids = [post["id"] for post in shown]
    assert ids == [public_post_id(first.pk), public_post_id(second.pk)]
    assert not any(post_id.isdigit() and int(post_id) in (first.pk, second.pk) for post_id in ids)
    assert [post_pk(post_id) for post_id in ids] == [first.pk, second.pk]


def test_consecutive_rows_get_unrelated_ids():
    ids = [public_post_id(pk) for pk in range(1, 2001)]
    assert len(set(ids)) == 2000
    assert ids != sorted(ids) and ids != sorted(ids, key=lambda i: (len(i), i))
    assert all(post_pk(post_id) == pk for pk, post_id in enumerate(ids, start=1))


@pytest.mark.parametrize("spelling", ["", "-1", "+1", " 1", "1_0", "ABC", "z" * 14, "\u0661", None, 12])
def test_what_is_no_id_spelling_names_no_post(spelling):
    assert post_pk(spelling) is None


def test_each_id_has_one_spelling():
    post_id = public_post_id(12345)
    assert post_pk(post_id) == 12345
    assert post_pk(post_id.upper()) is None or post_id.upper() == post_id
    assert post_pk("0" + post_id) is None
