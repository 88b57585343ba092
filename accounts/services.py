"""Sign up, log in and refresh: the account rules shared by GraphQL and the web pages."""
import re

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.conf import settings
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from chatsite import throttle
from chatsite.auth import require_active
from chatsite.errors import BadUserInput, Unauthenticated
from chatsite.text import clean_text, has_visible_text

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{3,30}$")
USERNAME_RULE = "Usernames have 3 to 30 characters: letters, digits, '.', '_' or '-'."


def validate_username(username):
    if not isinstance(username, str) or not USERNAME_PATTERN.match(username):
        raise BadUserInput(USERNAME_RULE)
    return username


def validate_password(password, user):
    clean_text(password, field="The password")
    if not has_visible_text(password):
        raise BadUserInput("A password can't be only spaces or invisible characters.")
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise BadUserInput(" ".join(exc.messages))


def sign_up(*, username, password, client=None):
    """A new user. `client`: the caller's address, which may sign up so many a few seconds."""
    if client:
        throttle.take(
            "signup-address", client, limit=settings.SIGNUPS_PER_ADDRESS,
            window_seconds=settings.SIGNUP_WINDOW_SECONDS, what="sign-ups from your address",
        )
    User = get_user_model()
    validate_username(username)
    if User.objects.filter(username__iexact=username).exists():
        raise BadUserInput("That username is taken.")
    user = User(username=username)
    validate_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise BadUserInput("That username is taken.")
    return user


def log_in(*, username, password, client=None):
    """The user, if the password is right and the username isn't locked out. `client`: the
    caller's address, which may try so many logins a minute."""
    validate_username(username)
    if not password:
        raise BadUserInput("A password is required.")
    clean_text(password, field="The password")
    if client:
        throttle.take("login-address", client, limit=settings.LOGINS_PER_MINUTE, window_seconds=throttle.MINUTE,
                      what="login attempts from your address")
    # Locked after too many failures, right password included: guessing can't go on. The
    # attempt counts as a failure before the (slow) password check and is taken back if the
    # password is right, so of many attempts at once no more than the limit are checked.
    failure = throttle.reserve(
        "login-failure", username.lower(), limit=settings.LOGIN_FAILURES_MAX,
        window_seconds=settings.LOGIN_LOCKOUT_SECONDS, lockout_seconds=settings.LOGIN_LOCKOUT_SECONDS,
        what="failed logins for this username",
    )
    user = get_user_model().objects.filter(username__iexact=username).first()
    if user is None:
        # Hash anyway, so an unknown username takes as long as a wrong password: the
        # answer's timing must not tell which usernames exist.
        get_user_model()().set_password(password)
    elif user.check_password(password):
        throttle.release(failure)
        require_active(user)
        return user
    raise Unauthenticated("Wrong username or password.")


def deactivate_users(users):
    """Deactivate these users; their open WebSocket connections close after the commit."""
    user_ids = list(users.filter(is_active=True).values_list("pk", flat=True))
    get_user_model().objects.filter(pk__in=user_ids).update(is_active=False)
    announce_deactivation(user_ids)
    return len(user_ids)


def announce_deactivation(user_ids):
    from posts import events

    for user_id in user_ids:
        transaction.on_commit(lambda user_id=user_id: events.user_deactivated(user_id))


def issue_tokens(user):
    refresh = RefreshToken.for_user(user)
    return {"access_token": str(refresh.access_token), "refresh_token": str(refresh), "user": user}


def refresh_tokens(refresh_token):
    """New tokens for a refresh token, which is then refused for ever (rotation): one that
    was stolen and used is found out when its owner's next refresh fails."""
    refused = Unauthenticated("The refresh token is invalid, expired or already used.")
    with transaction.atomic():
        try:
            refresh = RefreshToken(refresh_token)  # signature, expiry, not blacklisted
            user = get_user_model().objects.get(pk=refresh["user_id"])
        except (TokenError, KeyError, ValueError, get_user_model().DoesNotExist):
            raise refused
        # Locked, so two requests racing with the same token can't both use it.
        outstanding = OutstandingToken.objects.select_for_update().filter(jti=refresh["jti"]).first()
        if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
            raise refused
        BlacklistedToken.objects.create(token=outstanding)
    require_active(user)
    return issue_tokens(user)
