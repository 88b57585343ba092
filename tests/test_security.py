"""Security defaults a deployment relies on without configuring anything."""
import os
import stat
import subprocess
import sys

from tests.stack import ROOT

# What chatsite/settings.py used when SECRET_KEY was unset, before keys were generated.
OLD_PUBLISHED_KEY = "dev-only-insecure-key-for-the-embedded-mode-change-me"

PROBE = """
import jwt, django
django.setup()
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.exceptions import TokenError
forged = jwt.encode({"token_type": "access", "exp": 4102444800, "jti": "x", "user_id": "1"}, %r, algorithm="HS256")
try:
    AccessToken(forged)
    accepted = True
except TokenError:
    accepted = False
print(settings.SECRET_KEY, accepted)
"""


def embedded_settings_probe():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "AMQP_URL", "DATABASE_URL")}
    env["DJANGO_SETTINGS_MODULE"] = "chatsite.settings"
    done = subprocess.run(
        [sys.executable, "-c", PROBE % OLD_PUBLISHED_KEY], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    key, accepted = done.stdout.split()
    return key, accepted == "True"


def test_without_secret_key_the_embedded_mode_signs_with_a_key_of_its_own_that_it_keeps():
    key, forged_accepted = embedded_settings_probe()
    assert key != OLD_PUBLISHED_KEY and len(key) >= 50
    assert not forged_accepted, "a token signed with a key from the source must be refused"
    assert embedded_settings_probe()[0] == key, "the same key on every start"
    mode = stat.S_IMODE(os.stat(ROOT / ".secret_key").st_mode)
    assert mode == 0o600, oct(mode)


SETTINGS_PROBE = """
import django
django.setup()
from django.conf import settings as s
print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER)
"""


def tls_settings(**env):
    environment = {**{k: v for k, v in os.environ.items() if k != "AMQP_URL"}, "DJANGO_SETTINGS_MODULE": "chatsite.settings", **env}
    done = subprocess.run([sys.executable, "-c", SETTINGS_PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_deployment_behind_tls_turns_on_secure_cookies_hsts_and_the_redirect_with_one_setting():
    assert tls_settings(HTTPS="true") == "True True 31536000 True ('HTTP_X_FORWARDED_PROTO', 'https')"
    assert tls_settings() == "False False 0 False None", "make run must keep working over plain HTTP"
