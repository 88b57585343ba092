"""The test process itself runs embedded; the full-stack tests hand AMQP_URL to the
processes they start (on a vhost of their own), never to this process's pipeline."""
import os

TEST_AMQP_URL = os.environ.pop("AMQP_URL", "").strip()

from chatsite.settings import *  # noqa: E402,F401,F403
