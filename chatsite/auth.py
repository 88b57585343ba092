"""Who is calling: a bearer token or the browser session, for HTTP and WebSocket alike."""
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from chatsite import sql
from chatsite.errors import Forbidden, Unauthenticated


def user_from_access_token(raw_token):
    """The active user an access token names; Unauthenticated or Forbidden otherwise."""
    try:
        user = sql.by_pk(get_user_model(), int(AccessToken(raw_token)["user_id"]))
    except (TokenError, KeyError, ValueError, TypeError):
        user = None
    if user is None:
        raise Unauthenticated("The access token is missing, invalid or expired.")
    require_active(user)
    return user


def user_from_authorization(header):
    """Parse `Bearer <token>`; None when no header was sent."""
    if not header:
        return None
    scheme, _, raw_token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not raw_token.strip():
        raise Unauthenticated("The Authorization header must be `Bearer <access token>`.")
    return user_from_access_token(raw_token.strip())


def require_active(user):
    if not user.is_active:
        raise Forbidden("This account has been deactivated.")
    return user


def require_user(user):
    """The caller as an active, authenticated user, or the error that says why not."""
    if user is None or not user.is_authenticated:
        raise Unauthenticated("You must be logged in.")
    return require_active(user)
