from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.moderators import GROUP_NAME, make_moderator


class Command(BaseCommand):
    help = f"Make an existing user a moderator: staff, in the {GROUP_NAME!r} group (rooms, posts, deactivating users)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}: they sign up first (or use createsuperuser).")
        make_moderator(user)
        self.stdout.write(f"{user.username} is a moderator: log in at /admin/.")
