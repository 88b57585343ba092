from django.apps import AppConfig


class PostsConfig(AppConfig):
    name = "posts"

    def ready(self):
        # Register the stage tasks in every process, so a stage can be sent by its name.
        from posts import posting  # noqa: F401
