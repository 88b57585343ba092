"""Moderators: staff in the "Moderators" group, with exactly the admin rights SPEC section 8 names."""
from django.contrib.auth.models import Group, Permission

GROUP_NAME = "Moderators"
# Rooms: create, rename, lock, delete, and add or remove a private room's members. Posts: find and delete, and read the audit of edits
# and deletions. Users: find and deactivate
# (the action needs only view_user; change_user would let them edit their own permissions).
PERMISSIONS = {
    "rooms": ["add_room", "change_room", "delete_room", "view_room", "add_roommember", "delete_roommember", "view_roommember"],
    "posts": ["view_post", "delete_post", "view_postchange"],
    "auth": ["view_user"],
}


def moderators_group():
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    wanted = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codenames in PERMISSIONS.items()
        for codename in codenames
    ]
    group.permissions.set(wanted)
    return group


def make_moderator(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(moderators_group())
    return user
