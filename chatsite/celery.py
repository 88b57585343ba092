"""The Celery app: the pipeline's queues, routes and reliability settings."""
import os

from celery import Celery
from celery.signals import task_postrun
from django.db import close_old_connections
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

# Database connections in a worker. Celery's Django fix-up closes every connection (and, in
# a prefork child, the whole pool) before and after each task unless CELERY_DB_REUSE_MAX is
# set: two new PostgreSQL sessions per post, the worker's largest cost in the benchmark.
# So it reuses them, and we hand the connection back to the process's pool after each task
# ourselves (Django closes one that failed or was left unusable, e.g. after a database
# restart; the pool then opens a fresh one).
app.conf.CELERY_DB_REUSE_MAX = 1_000_000


@task_postrun.connect
def return_database_connections(task=None, **kwargs):
    if task is not None and task.request.is_eager:
        return  # inline (embedded mode, tests): the caller owns the connection and transaction
    close_old_connections()
