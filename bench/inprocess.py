"""CPU of one post's steps in one process, without the noise of a whole stack.

    python -m bench.inprocess [--posts 300] [--profile createPost|stages] [--queries]

On a database and vhost of its own (created, migrated and removed here, as `make bench`
does), it sends `--posts` createPost requests through the web's own ASGI application (the
Django stack, the GraphQL view, the JWT, the confirmed publish; no socket), then runs the
two stages of each post (`new.post.requested`, `new.post.accepted`) as the worker's task
functions, and prints CPU milliseconds per post for each (time.process_time: this process's
CPU, every thread). `--profile` prints cProfile's top functions for one of them; `--queries`
the SQL each issues for one post. What it leaves out: the socket and the server's HTTP
parsing (in `make bench`'s web figures), Celery's consumer (in its worker figures), and the
CPU of PostgreSQL and RabbitMQ.
"""
import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import time

from bench.stack import _pg_admin, rabbitmqctl, with_database, with_vhost

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
BROKER = "amqp://guest:guest@127.0.0.1:5672"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__.split("\n\n")[0])
    p.add_argument("--posts", type=int, default=300)
    p.add_argument("--profile", choices=["createPost", "stages"])
    p.add_argument("--queries", action="store_true", help="print the SQL of one post's createPost and stages")
    args = p.parse_args(argv)

    name = f"bench_inproc_{os.getpid()}"
    vhost = f"chat-bench-inproc-{os.getpid()}"
    _pg_admin(SERVER, f'CREATE DATABASE "{name}"')
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="chatsite.settings", DATABASE_URL=with_database(SERVER, name),
        AMQP_URL=with_vhost(BROKER, vhost), SECRET_KEY=secrets.token_urlsafe(48), LOG_LEVEL="WARNING",
        RATE_LIMIT_POSTS="1000000", ALLOWED_HOSTS="127.0.0.1",
    )
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        _pg_admin(SERVER, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        rabbitmqctl("delete_vhost", vhost, check=False)


def run(args):
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework_simplejwt.tokens import AccessToken

    from chatsite.asgi import application, django_http
    from posts import posting
    from posts.models import PostRequest
    from rooms.models import Room

    from celery import current_app

    with current_app.connection_for_write() as broker:  # as a worker would have declared them
        for queue in current_app.conf.task_queues:
            queue(broker.default_channel).declare()
    user = get_user_model().objects.create_user("bench-user")
    Room.objects.create(id="bench", name="bench")
    token = str(AccessToken.for_user(user))
    from bench.clients import CREATE_POST

    def request(n):
        body = json.dumps({"query": CREATE_POST, "variables": {"input": {"roomId": "bench", "body": f"post {n}"}}}).encode()
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/graphql/", "raw_path": b"/graphql/", "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                        (b"authorization", f"Bearer {token}".encode()), (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
        }
        return scope, body

    def check(status, answer):
        if b'"errors"' in answer or status != 200:
            raise SystemExit(f"createPost failed: {status} {answer[:300]!r}")

    async def create_post(n):
        scope, body = request(n)
        sent, messages = [], [{"type": "http.request", "body": body, "more_body": False}]

        async def receive():
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # no disconnect

        async def send(message):
            sent.append(message)

        await application(scope, receive, send)
        check(sent[0].get("status"), b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))

    def create_post_on_this_thread(n):
        """What a web's HTTP thread does for one createPost (chatsite/http.py), here, so
        that cProfile (which sees one thread) sees it."""
        scope, body = request(n)
        response = django_http.respond(scope, io.BytesIO(body))
        check(response.status_code, response.content)

    async def create_posts(count, start):
        for n in range(start, start + count):
            await create_post(n)

    def stages():
        for request in PostRequest.objects.filter(state=PostRequest.State.PENDING).order_by("id"):
            payload = dict(request_id=str(request.request_id), room_id=request.room_id, user_id=request.user_id,
                           body=request.body)
            posting.new_post_requested.run(**payload)
            posting.new_post_accepted.run(**payload)

    if args.queries:
        with CaptureQueriesContext(connection) as web_queries:
            asyncio.run(create_posts(1, 0))
        print(f"createPost: {len(web_queries)} queries (this thread's; the view runs in another)")
        for q in web_queries:
            print("  ", q["sql"][:200])
        with CaptureQueriesContext(connection) as stage_queries:
            stages()
        print(f"stages: {len(stage_queries)} queries")
        for q in stage_queries:
            print("  ", q["sql"][:200])

    asyncio.run(create_posts(20, 1000))  # warm: imports, caches, connections
    stages()

    # Timed by this thread's CPU, so waits on the database and the broker count nothing.
    profiler = cProfile.Profile(time.thread_time) if args.profile else None
    cpu = time.process_time()
    wall = time.perf_counter()
    if args.profile == "createPost":
        profiler.enable()
        for n in range(10000, 10000 + args.posts):
            create_post_on_this_thread(n)
        profiler.disable()
    else:
        asyncio.run(create_posts(args.posts, 10000))
    web_ms = (time.process_time() - cpu) * 1e3 / args.posts
    web_wall = (time.perf_counter() - wall) * 1e3 / args.posts

    cpu = time.process_time()
    wall = time.perf_counter()
    if args.profile == "stages":
        profiler.enable()
    stages()
    if profiler:
        profiler.disable()
    stage_ms = (time.process_time() - cpu) * 1e3 / args.posts
    stage_wall = (time.perf_counter() - wall) * 1e3 / args.posts

    print(f"createPost ({'on this thread, under cProfile' if args.profile == 'createPost' else 'ASGI app, in-process'}): {web_ms:.2f} ms CPU per post ({web_wall:.2f} ms wall)")
    print(f"the two stages (task functions):   {stage_ms:.2f} ms CPU per post ({stage_wall:.2f} ms wall)")
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
