from django.apps import AppConfig


class PostsConfig(AppConfig):
    name = "posts"

    def ready(self):
        # Register the stage tasks in every process, so a stage can be sent by its name.
        from chatsite import health
        from posts import posting  # noqa: F401
        from posts import presence, stream

        health.register("room_streams", stream.stats)
        health.register("presence", presence.trackers.stats)
