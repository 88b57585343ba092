"""Posts get their position in the room (`seq`, in the order they were stored); requests get
an order of their own and keep their text. Request rows are the rate limit's window and
the clientId record of the last minutes: rebuilding that table forgets them, harmlessly."""
import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def number_existing_posts(apps, schema_editor):
    Post = apps.get_model("posts", "Post")
    Room = apps.get_model("rooms", "Room")
    for room in Room.objects.all():
        seq = 0
        for post_id in Post.objects.filter(room=room).order_by("id").values_list("id", flat=True).iterator():
            seq += 1
            Post.objects.filter(pk=post_id).update(seq=seq)
        Room.objects.filter(pk=room.pk).update(last_seq=seq)


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0001_initial"),
        ("rooms", "0002_room_last_seq"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="post",
            name="seq",
            field=models.PositiveBigIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(number_existing_posts, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="post",
            name="seq",
            field=models.PositiveBigIntegerField(editable=False),
        ),
        migrations.RemoveIndex(model_name="post", name="post_room_id"),
        migrations.AlterModelOptions(name="post", options={"ordering": ["room", "seq"]}),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.UniqueConstraint(fields=("room", "seq"), name="post_room_seq"),
        ),
        migrations.DeleteModel(name="PostRequest"),
        migrations.CreateModel(
            name="PostRequest",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("request_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("client_id", models.CharField(blank=True, max_length=100, null=True)),
                ("body", models.TextField()),
                ("is_command", models.BooleanField(default=False)),
                (
                    "state",
                    models.CharField(
                        choices=[("pending", "Pending"), ("stored", "Stored"), ("failed", "Failed")],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "room",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="post_requests", to="rooms.room"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="post_requests",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["user", "created_at"], name="postrequest_user_recent"),
                    models.Index(
                        condition=models.Q(("state", "pending")),
                        fields=["user", "room", "id"],
                        name="postrequest_user_pending",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("client_id__isnull", False)),
                        fields=("user", "client_id"),
                        name="postrequest_one_per_client_id",
                    )
                ],
            },
        ),
    ]
