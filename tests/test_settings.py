"""Settings come from the environment (or a `.env` file) through one reader, `env()`: a value
of the wrong kind stops the process with the variable's name rather than meaning something
else; DATABASE_URL names PostgreSQL or SQLite."""
import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from chatsite.settings import database_from_url, env, load_dotenv
from tests.stack import ROOT


def start_django(**variables):
    """A new process loading the settings as `make run` would (embedded), with `variables` set."""
    environment = {key: value for key, value in os.environ.items() if key not in {"AMQP_URL", "DATABASE_URL"}}
    environment.update(SECRET_KEY="test-only-secret-key-that-is-long-enough", DJANGO_SETTINGS_MODULE="chatsite.settings")
    environment.update(variables)
    code = "import django; django.setup(); from django.conf import settings; print(settings.HTTPS, settings.RATE_LIMIT_POSTS)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)


def test_a_mistyped_switch_stops_the_process_naming_the_variable_instead_of_meaning_false():
    started = start_django(HTTPS="ture")
    assert started.returncode != 0
    assert "HTTPS='ture': expected true or false" in started.stderr


def test_a_number_that_is_not_one_stops_the_process_naming_the_variable():
    started = start_django(RATE_LIMIT_POSTS="ten")
    assert started.returncode != 0
    assert "RATE_LIMIT_POSTS='ten': expected int" in started.stderr


def test_the_environment_sets_what_it_names_and_the_rest_keeps_its_default():
    started = start_django(HTTPS="yes", RATE_LIMIT_POSTS=" 3 ")
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["True", "3"]
    assert start_django(HTTPS="", RATE_LIMIT_POSTS="").stdout.split() == ["False", "10"]


@pytest.mark.parametrize(
    "value, default, expected",
    [
        ("7", 1, 7),
        ("2.5", 1.0, 2.5),
        ("3", 1.0, 3.0),
        ("On", False, True),
        ("0", True, False),
        ("no", True, False),
        ("amqp://x", "", "amqp://x"),
        ("", 9, 9),
        ("   ", True, True),
    ],
)
def test_env_reads_a_value_as_the_type_of_its_default(monkeypatch, value, default, expected):
    monkeypatch.setenv("CHAT_TEST_VARIABLE", value)
    read = env("CHAT_TEST_VARIABLE", default)
    assert read == expected and type(read) is type(default)


def test_env_without_the_variable_is_the_default(monkeypatch):
    monkeypatch.delenv("CHAT_TEST_VARIABLE", raising=False)
    assert env("CHAT_TEST_VARIABLE", 1.5) == 1.5


@pytest.mark.parametrize("value, default", [("2.5", 1), ("x", 1.0), ("maybe", False)])
def test_env_refuses_a_value_of_another_kind(monkeypatch, value, default):
    monkeypatch.setenv("CHAT_TEST_VARIABLE", value)
    with pytest.raises(ImproperlyConfigured, match=f"CHAT_TEST_VARIABLE='{value}'"):
        env("CHAT_TEST_VARIABLE", default)


def test_a_dotenv_file_fills_what_the_environment_leaves_unset(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAT_TEST_SET", "from the environment")
    monkeypatch.delenv("CHAT_TEST_UNSET", raising=False)
    monkeypatch.delenv("CHAT_TEST_QUOTED", raising=False)
    monkeypatch.delenv("CHAT_TEST_COMMENTED", raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# a comment\n\nCHAT_TEST_SET=from the file\n CHAT_TEST_UNSET = 5 \n"
        "CHAT_TEST_QUOTED='a=b'\n# CHAT_TEST_COMMENTED=1\nnot a setting\n"
    )
    load_dotenv(dotenv)
    assert os.environ["CHAT_TEST_SET"] == "from the environment"
    assert os.environ["CHAT_TEST_UNSET"] == "5"
    assert os.environ["CHAT_TEST_QUOTED"] == "a=b"
    assert "CHAT_TEST_COMMENTED" not in os.environ
    load_dotenv(tmp_path / "missing")  # no file: nothing to do


def test_a_postgresql_url_gives_its_parts_and_the_pool(monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.delenv("DB_POOL_TIMEOUT", raising=False)
    database = database_from_url("postgresql://chat%40app:p%2Fss@db.example:6543/chat")
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["NAME"], database["USER"], database["PASSWORD"]) == ("chat", "chat@app", "p/ss")
    assert (database["HOST"], database["PORT"]) == ("db.example", "6543")
    assert database["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 3, "timeout": 5.0}
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["TEST"]["NAME"].startswith("test_chat_")
    assert database_from_url("postgres://localhost/chat")["PORT"] == ""


def test_a_database_url_of_another_kind_is_refused():
    with pytest.raises(ValueError, match="mysql"):
        database_from_url("mysql://localhost/chat")


def broker_setup(**variables):
    """What a full-stack process given `variables` tells Celery and its channel layer (no
    broker needed: nothing connects)."""
    environment = {key: value for key, value in os.environ.items() if key not in {"AMQP_URL", "DATABASE_URL"}}
    environment.update(SECRET_KEY="test-only-secret-key-that-is-long-enough", DJANGO_SETTINGS_MODULE="chatsite.settings")
    environment.update(variables)
    code = """if True:
        import json, django; django.setup()
        from django.conf import settings
        from chatsite.celery import app, dead_letter_queue
        from chatsite.layer import FailoverRabbitmqChannelLayer
        layer = FailoverRabbitmqChannelLayer.__new__(FailoverRabbitmqChannelLayer)
        layer.host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["host"]
        queues = {q.name: q.queue_arguments for q in [*app.conf.task_queues, dead_letter_queue()]}
        print(json.dumps({"broker": app.conf.broker_url, "queues": queues,
                          "layer": [layer.host for _ in range(4)]}))
    """
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


CLUSTER = "amqp://guest:guest@10.0.0.1:5672 ; amqp://guest:guest@10.0.0.2:5672;amqp://guest:guest@10.0.0.3:5672"


def test_one_broker_url_keeps_classic_queues_and_one_host():
    setup = broker_setup(AMQP_URL="amqp://guest:guest@127.0.0.1:5672")
    assert setup["broker"] == "amqp://guest:guest@127.0.0.1:5672"
    assert not any("x-queue-type" in arguments for arguments in setup["queues"].values()), setup["queues"]
    assert setup["queues"]["posts"] == {"x-dead-letter-exchange": "dead-letters"}
    assert setup["layer"] == ["amqp://guest:guest@127.0.0.1:5672"] * 4


def test_a_list_of_broker_urls_names_a_cluster_every_process_fails_over_on_with_quorum_queues():
    setup = broker_setup(AMQP_URL=CLUSTER)
    nodes = [f"amqp://guest:guest@10.0.0.{n}:5672" for n in (1, 2, 3)]
    assert setup["broker"] == ";".join(nodes)
    assert setup["layer"] == nodes + nodes[:1], "the layer takes the next node at each connection attempt"
    assert {arguments["x-queue-type"] for arguments in setup["queues"].values()} == {"quorum"}
    for name in ("posts", "stockbot"):
        assert setup["queues"][name]["x-dead-letter-strategy"] == "at-least-once"
        assert setup["queues"][name]["x-overflow"] == "reject-publish"
    assert setup["queues"]["dead-letters"]["x-max-length"] == 100_000


def test_broker_quorum_queues_says_otherwise_than_the_default():
    assert "x-queue-type" not in broker_setup(AMQP_URL=CLUSTER, BROKER_QUORUM_QUEUES="false")["queues"]["posts"]
    one = broker_setup(AMQP_URL="amqp://guest:guest@127.0.0.1:5672", BROKER_QUORUM_QUEUES="true")
    assert one["queues"]["posts"]["x-queue-type"] == "quorum"
