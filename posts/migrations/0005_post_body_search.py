"""A full-text index on posts' text for searchPosts (PostgreSQL only; SQLite has no GIN)."""
from django.db import migrations

INDEX = "post_body_search"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # The expression Django's SearchVector("body", config="simple") generates, so the planner uses it.
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON posts_post "
            "USING gin ((to_tsvector('simple'::regconfig, COALESCE(body, ''))))"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY can't run in a transaction; posts stay writable meanwhile

    dependencies = [("posts", "0004_readstate")]

    operations = [migrations.RunPython(create_index, drop_index)]
