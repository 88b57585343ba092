"""Create the benchmark's users, rooms and access tokens in the chat's database, or remove them.

Run by bench/stack.py as `python -m bench.seed ...` with the stack's DATABASE_URL and
SECRET_KEY, so the tokens are the ones the web processes accept. Why not the API: signUp
is rate limited per client address (20 in 10 s) and hashes a password on purpose slowly;
a benchmark needs hundreds of users in a second. Users get an unusable password, as
`create_user(username)` gives them: they only ever authenticate with their token.

It also reports what the load generator must know about the app as configured: the post
rate limit (a user may post RATE_LIMIT_POSTS times in any RATE_LIMIT_WINDOW_SECONDS) and
the tables and columns where posts are stored, read from the models rather than guessed.
"""
import argparse
import json
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, help="file to write the JSON answer to")
    parser.add_argument("--prefix", required=True, help="username and room id prefix of this run")
    parser.add_argument("--posters", type=int, default=0)
    parser.add_argument("--readers", type=int, default=0)
    parser.add_argument("--rooms", default="", help="comma-separated room ids to create")
    parser.add_argument("--remove", action="store_true", help="remove this prefix's users and rooms")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from posts.models import Post
    from rooms.models import Room

    User = get_user_model()
    if args.remove:
        rooms = Room.objects.filter(id__startswith=args.prefix).delete()[0]
        users = User.objects.filter(username__startswith=args.prefix).delete()[0]
        _write(args.out, {"removed": {"rooms": rooms, "users": users}})
        return

    from rest_framework_simplejwt.tokens import AccessToken

    def make_users(kind, count):
        names = [f"{args.prefix}{kind}{n}" for n in range(count)]
        unusable = make_password(None)
        with transaction.atomic():
            User.objects.bulk_create((User(username=name, password=unusable) for name in names), batch_size=1000)
        users = list(User.objects.filter(username__in=names).order_by("id")) if names else []
        return [[str(u.pk), u.username, str(AccessToken.for_user(u))] for u in users]

    room_ids = [r for r in args.rooms.split(",") if r]
    Room.objects.bulk_create([Room(id=r, name=r) for r in room_ids], ignore_conflicts=True)
    post_room = Post._meta.get_field("room")
    _write(
        args.out,
        {
            "posters": make_users("p", args.posters),
            "readers": make_users("r", args.readers),
            "rooms": room_ids,
            "rate_limit": {"posts": settings.RATE_LIMIT_POSTS, "window_seconds": settings.RATE_LIMIT_WINDOW_SECONDS},
            "posts_table": {
                "table": Post._meta.db_table,
                "room": post_room.column,
                "seq": Post._meta.get_field("seq").column,
                "body": Post._meta.get_field("body").column,
                "id": Post._meta.pk.column,
            },
        },
    )


def _write(path, data):
    with open(path, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    sys.exit(main())
