from django.apps import AppConfig


class StockbotConfig(AppConfig):
    name = "stockbot"

    def ready(self):
        # Register the stage tasks in every process, so a stage can be sent by its name.
        from stockbot import tasks  # noqa: F401
