"""Private rooms (members only) and direct messages; the moderators' group gets the
rights to add and remove members (new moderators get them from accounts.moderators)."""
import django.db.models.deletion
from django.apps import apps as global_apps
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

MEMBER_PERMISSIONS = ["add_roommember", "delete_roommember", "view_roommember"]


def grant_moderators(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name="Moderators").first()
    if group is None:  # no moderator yet: make_moderator creates the group with every right
        return
    # Permissions are made after the migrations run; make RoomMember's now.
    create_permissions(global_apps.get_app_config("rooms"), apps=apps, verbosity=0)
    Permission = apps.get_model("auth", "Permission")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="rooms", codename__in=MEMBER_PERMISSIONS)
    )


class Migration(migrations.Migration):

    dependencies = [
        ('rooms', '0002_room_last_seq'),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='room',
            name='created_by',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='room',
            name='is_direct',
            field=models.BooleanField(default=False, editable=False, help_text='A direct message: a private room of exactly two people.'),
        ),
        migrations.AddField(
            model_name='room',
            name='is_private',
            field=models.BooleanField(default=False, help_text='Only its members can see, read, subscribe to and post in a private room.'),
        ),
        migrations.CreateModel(
            name='RoomMember',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('added_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('room', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='members', to='rooms.room')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='room_memberships', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['created_at', 'pk'],
                'constraints': [models.UniqueConstraint(fields=('room', 'user'), name='room_member_once')],
            },
        ),
        migrations.RunPython(grant_moderators, migrations.RunPython.noop),
    ]
