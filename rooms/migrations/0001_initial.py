from django.db import migrations, models


def create_general(apps, schema_editor):
    apps.get_model("rooms", "Room").objects.get_or_create(id="general", defaults={"name": "General"})


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Room",
            fields=[
                ("id", models.SlugField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("locked", models.BooleanField(default=False, help_text="A locked room refuses new posts.")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.RunPython(create_general, migrations.RunPython.noop),
    ]
