"""The Celery app: the pipeline's queues, routes and reliability settings."""
import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

app = Celery("chatsite")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Durable queues; Celery publishes persistent messages by default.
app.conf.task_queues = (
    Queue("posts", Exchange("posts", type="direct", durable=True), routing_key="posts", durable=True),
    Queue("stockbot", Exchange("stockbot", type="direct", durable=True), routing_key="stockbot", durable=True),
)
app.conf.task_default_queue = "posts"
app.conf.task_routes = {
    "bot.command.received": {"queue": "stockbot", "routing_key": "stockbot"},
    "new.post.*": {"queue": "posts", "routing_key": "posts"},
    "bot.post.request": {"queue": "posts", "routing_key": "posts"},
}
app.autodiscover_tasks()
