"""Settings for both modes, read from the environment (a `.env` file may supply it) through
`env()`, which reads each variable as the type of its default.

Embedded (no AMQP_URL): SQLite, tasks run in-process, in-memory channel layer.
Full stack (AMQP_URL set): RabbitMQ is the Celery broker and the channels_rabbitmq layer;
DATABASE_URL (PostgreSQL) if set, else SQLite.
"""
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from chatsite.dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent


load_dotenv(BASE_DIR / ".env")


TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env(name, default):
    """The variable `name` read as the type of `default` (str, int, float or bool), or `default`
    when it is unset or empty. A value that isn't of that type stops the process, naming it."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    kind = type(default)
    if kind is bool:
        if raw.lower() in TRUE | FALSE:
            return raw.lower() in TRUE
    else:
        try:
            return kind(raw)
        except ValueError:
            pass
    raise ImproperlyConfigured(f"{name}={raw!r}: expected {'true or false' if kind is bool else kind.__name__}")


def database_from_url(url):
    parts = urlsplit(url)
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # A pool per process (psycopg's, through Django): a burst of requests shares a few
            # connections instead of opening one per request thread until PostgreSQL refuses
            # ("too many clients"); past `timeout` waiting, the request answers UNAVAILABLE.
            # With the pool, health checks mean psycopg tries a connection (an empty query)
            # before handing it out: after a database restart no request or stage gets a dead one.
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                # Values travel apart from the statement (no quoting in Python), and psycopg
                # prepares a statement it has run a few times on a connection: PostgreSQL
                # then skips parsing and planning it.
                "server_side_binding": True,
                "pool": {
                    "min_size": 1,
                    "max_size": env("DB_POOL_SIZE", 8),
                    "timeout": env("DB_POOL_TIMEOUT", 5.0),
                }
            },
            # Each test run gets its own database, so runs on one server never collide.
            "TEST": {"NAME": f"test_{unquote(parts.path.lstrip('/'))}_{os.getpid()}"},
        }
    if parts.scheme == "sqlite":
        # dj-database-url's rule: sqlite:///relative.db is relative to the current directory,
        # sqlite:////abs/path.db is absolute (the path after the third slash).
        if ":memory:" in (parts.netloc, parts.path.lstrip("/")):
            return sqlite_database(":memory:")
        path = unquote(parts.path)[1:]
        return sqlite_database(Path(path).absolute() if path else BASE_DIR / "db.sqlite3")
    raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported")


# SQLite, however it is named: wait for the write lock rather than fail at once ("database
# is locked"), take it when a transaction begins (no deadlock upgrading a read to a write),
# and let readers read while a writer writes (WAL).
SQLITE_OPTIONS = {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}


def sqlite_database(path):
    """`path`: an absolute Path, or ":memory:". The test database is `test_<name>` beside it."""
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": path, "OPTIONS": dict(SQLITE_OPTIONS)}
    if path != ":memory:":
        # A file, not memory: servers started by the tests must see the test rows.
        database["TEST"] = {"NAME": str(path.with_name(f"test_{path.name}"))}
    return database


DEBUG = env("DEBUG", False)


def generated_secret_key(path):
    """A key made for this installation the first time it runs, kept (readable by its owner
    alone) in `path`: never one written in the source, which anyone could sign tokens with."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return key


AMQP_URL = env("AMQP_URL", "")
# A RabbitMQ cluster is named by its nodes' URLs, `;`-separated (kombu's failover syntax):
# every process connects to one and moves to the next when its node goes.
AMQP_URLS = [url.strip() for url in AMQP_URL.split(";") if url.strip()]
EMBEDDED = not AMQP_URLS
# The pipeline's queues (posts, stockbot, dead-letters) as quorum queues, replicated across
# the cluster (chatsite/celery.py): on by default when AMQP_URL names more than one node.
# Switching an existing deployment is a step of its own (docs/operations.md).
BROKER_QUORUM_QUEUES = env("BROKER_QUORUM_QUEUES", len(AMQP_URLS) > 1)
# The one place the two modes differ (posts/modes.py): how a stage is handed on and how a
# group message reaches the web processes.
CHAT_MODE = "posts.modes.Embedded" if EMBEDDED else "posts.modes.FullStack"

SECRET_KEY = env("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and AMQP_URL:
        # Several processes must share one key (room tokens, sessions); fail loudly.
        raise RuntimeError("SECRET_KEY must be set when running the full stack")
    SECRET_KEY = generated_secret_key(BASE_DIR / ".secret_key")
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
PORT = env("PORT", 8000)
# This process's Prometheus metrics (chatsite/metrics.py): its own port (0: none), not public.
METRICS_PORT = env("METRICS_PORT", 0)
METRICS_ADDR = env("METRICS_ADDR", "127.0.0.1")

STOOQ_URL = env("STOOQ_URL", "https://stooq.com/q/l/")
STOOQ_API_KEY = env("STOOQ_API_KEY", "")
STOOQ_TIMEOUT_SECONDS = 5

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "graphene_django",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "accounts",
    "rooms",
    "posts",
    "stockbot",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "web.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = None
ASGI_APPLICATION = "chatsite.asgi.application"

DATABASE_URL = env("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    # The same as DATABASE_URL=sqlite:////<project>/db.sqlite3; tests use test_db.sqlite3.
    DATABASES = {"default": sqlite_database(BASE_DIR / "db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Behind TLS (HTTPS=true): cookies only over HTTPS, HSTS, plain HTTP redirected, and the
# proxy's X-Forwarded-Proto trusted to say the request came over HTTPS. Off by default so
# `make run` works at http://127.0.0.1:8000.
HTTPS = env("HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = HTTPS and env("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env("SECURE_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and env("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

GRAPHENE = {"SCHEMA": "chatsite.schema.schema"}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=30),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "UPDATE_LAST_LOGIN": False,
    # A refresh token is good once: refreshing returns a new one and refuses the old.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}
REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": []}

# --- The chat's rules, defined once ---
# The numbers a deployment (or the benchmark) may tune; the rules stay the same. Each is read
# from the environment variable of its name, as the type of its default (`env()`), and is a
# setting of that name.
TUNABLE = {
    # An author may edit a post for this long after sending it (deleting has no limit).
    "POST_EDIT_WINDOW_SECONDS": 900,
    # A reader who leaves a room stays listed as present this long (a reload or a reconnect in
    # between changes nothing).
    "PRESENCE_GRACE_SECONDS": 5.0,
    # Throttles (SPEC 5), counted in the database across processes: a username is locked for
    # LOGIN_LOCKOUT_SECONDS after LOGIN_FAILURES_MAX failed logins within that time; a client
    # address gets LOGINS_PER_MINUTE login attempts a minute and SIGNUPS_PER_ADDRESS sign-ups
    # in SIGNUP_WINDOW_SECONDS; a user creates ROOMS_PER_MINUTE rooms a minute.
    "LOGIN_FAILURES_MAX": 10,
    "LOGIN_LOCKOUT_SECONDS": 900,
    "LOGINS_PER_MINUTE": 30,
    "SIGNUPS_PER_ADDRESS": 20,
    "SIGNUP_WINDOW_SECONDS": 10,
    "ROOMS_PER_MINUTE": 10,
    # markRead: at most MARK_READ_RATE_LIMIT calls per user in MARK_READ_WINDOW_SECONDS (the
    # room page sends at most one a second per tab).
    "MARK_READ_RATE_LIMIT": 30,
    "MARK_READ_WINDOW_SECONDS": 10,
    # muteRoom: at most this many calls per user a minute.
    "MUTE_ROOM_RATE_LIMIT": 20,
    # Past this many messages waiting on the `posts` queue, createPost answers UNAVAILABLE
    # (retry later with the same clientId) instead of queueing posts for minutes. 0: no limit.
    "PIPELINE_MAX_BACKLOG": 500,
    # A stage that fails on the database or the broker is retried with exponential backoff
    # (1 s, 2 s, ... at most PIPELINE_RETRY_BACKOFF_MAX apart), then given up: its requester
    # gets a postError. The defaults ride out a database restart or failover of a few minutes.
    "PIPELINE_STAGE_MAX_RETRIES": 10,
    "PIPELINE_RETRY_BACKOFF_MAX": 30,
    # Posts per user in the window.
    "RATE_LIMIT_POSTS": 10,
    "RATE_LIMIT_WINDOW_SECONDS": 5.0,
    # Retention (chatsite/retention.py): a stored or failed PostRequest is kept this long, so a
    # createPost repeating its clientId within it returns the first request; then deleted by
    # the sweep, which runs every RETENTION_SWEEP_SECONDS (Attempt rows go once past the
    # longest throttle window).
    "CLIENT_ID_RETENTION_SECONDS": 24 * 3600,
    "RETENTION_SWEEP_SECONDS": 600.0,
    # What one client may hold open: operations (subscriptions) per connection, and
    # authenticated connections per user on one web process.
    "WEBSOCKET_MAX_OPERATIONS": 50,
    "WEBSOCKET_MAX_CONNECTIONS_PER_USER": 20,
    # What one connection may leave unread (events queued for it, estimated) before it is
    # closed with 4413; what it missed is read a page at a time, only as its socket takes it.
    "WEBSOCKET_MAX_BACKLOG_BYTES": 4 * 1024 * 1024,
    # Threads of a web process that run HTTP requests (Django's middleware and views,
    # chatsite/http.py); more requests wait for one.
    "HTTP_THREADS": 8,
    # Parsed documents kept for reuse, per transport and process (an estimate of their memory).
    "GRAPHQL_DOCUMENT_CACHE_BYTES": 16 * 1024 * 1024,
    # A subscription resumed `after` a position replays at most this many missed posts; past
    # it the client is told TOO_FAR_BEHIND and reloads the history.
    "STREAM_RESUME_MAX": 1000,
    # How often a quiet room stream asks the database for posts whose group message was lost.
    "STREAM_CHECK_SECONDS": 10.0,
    # What one searchPosts may cost, whatever the room's size: on PostgreSQL its statement is
    # cancelled after SEARCH_TIMEOUT_MS (the search is refused as too broad); on SQLite (no
    # full-text index) it reads the room's newest SEARCH_SCAN_MAX posts, no more.
    "SEARCH_TIMEOUT_MS": 2000,
    "SEARCH_SCAN_MAX": 1000,
}
globals().update({name: env(name, default) for name, default in TUNABLE.items()})

POST_MAX_LENGTH = 2000
# "Someone is typing": sent at most once per this many seconds per user and room (counted in
# the database, across web processes), and shown by readers for TYPING_SHOWN_SECONDS unless
# renewed (the announcement is never stored).
TYPING_INTERVAL_SECONDS = 3
TYPING_SHOWN_SECONDS = 6
# Presence: who has a room open. Each process renews its readers every PRESENCE_RENEW_SECONDS,
# and a process that stops renewing drops out after PRESENCE_TTL_SECONDS (a reader who leaves:
# after PRESENCE_GRACE_SECONDS, above).
PRESENCE_RENEW_SECONDS = 20
PRESENCE_TTL_SECONDS = 60
BOT_AUTHOR = "StockBot"
ROOM_TOKEN_LIFETIME = timedelta(minutes=5)
WEBSOCKET_MAX_FRAME_BYTES = 64 * 1024
WEBSOCKET_INIT_TIMEOUT_SECONDS = 3

# --- Celery: the pipeline ---
# Configured in chatsite/celery.py, from AMQP_URL (the broker) and EMBEDDED (stages inline).

# --- Channels: the fan-out ---
if EMBEDDED:
    # group_expiry: a room stream holds its group for as long as the room has readers.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10000, "group_expiry": 10 * 365 * 24 * 3600},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            # channels_rabbitmq's layer, moving to the next of AMQP_URLS when its node goes.
            "BACKEND": "chatsite.layer.FailoverRabbitmqChannelLayer",
            "CONFIG": {
                "host": AMQP_URL,
                # The defaults (100) drop group messages silently under load.
                "local_capacity": 10000,
                "remote_capacity": 10000,
            },
        }
    }
GROUPS_EXCHANGE = "groups"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(process)d %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        name: {"handlers": ["stderr"], "level": env("LOG_LEVEL", "INFO"), "propagate": False}
        for name in ("chat", "posts", "rooms", "stockbot", "chatsite")
    }
    | {
        # Each stage logs its own line with the request id; Celery's "Task ... received"
        # and "succeeded" lines for each would say it twice again, at a cost per task.
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
    },
}
