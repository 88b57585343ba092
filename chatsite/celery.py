"""The Celery app: the pipeline's queues, routes and reliability settings."""
import os

from celery import Celery
from kombu import Exchange, Queue

from posts.stages import Stage

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

app = Celery("chatsite")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Durable queues; Celery publishes persistent messages by default.
app.conf.task_queues = (
    Queue("posts", Exchange("posts", type="direct", durable=True), routing_key="posts", durable=True),
    Queue("stockbot", Exchange("stockbot", type="direct", durable=True), routing_key="stockbot", durable=True),
)
app.conf.task_default_queue = "posts"
# Every stage runs on the `posts` queue but the bot's, which runs where Stooq can be reached.
app.conf.task_routes = {
    str(stage): {"queue": "stockbot", "routing_key": "stockbot"}
    if stage == Stage.BOT_COMMAND
    else {"queue": "posts", "routing_key": "posts"}
    for stage in Stage
}
app.autodiscover_tasks()
