"""Signing up, logging in and refreshing tokens over GraphQL and the simplejwt endpoints."""
import pytest
from django.contrib.auth import get_user_model

from tests.clients import PASSWORD, SIGN_UP, error_code, sign_up

LOGIN = "mutation($input: AuthInput!) { login(input: $input) { accessToken refreshToken user { id username } } }"
REFRESH = "mutation($input: RefreshInput!) { refreshToken(input: $input) { accessToken refreshToken user { username } } }"
ME = "{ user { id username } }"

pytestmark = pytest.mark.django_db


def test_new_user_signs_up_logs_in_and_sees_themselves(gql):
    token, user_id, username = sign_up(gql, "alice.b-c_1")
    assert gql(ME, token=token)["data"]["user"] == {"id": user_id, "username": username}

    login = gql(LOGIN, {"input": {"username": username, "password": PASSWORD}})["data"]["login"]
    assert login["user"]["id"] == user_id
    assert gql(ME, token=login["accessToken"])["data"]["user"]["username"] == username

    refreshed = gql(REFRESH, {"input": {"refreshToken": login["refreshToken"]}})["data"]["refreshToken"]
    assert gql(ME, token=refreshed["accessToken"])["data"]["user"]["username"] == username


def test_simplejwt_endpoints_serve_tokens_too(gql, client):
    token, _, username = sign_up(gql)
    pair = client.post("/api/token/", {"username": username, "password": PASSWORD}).json()
    assert gql(ME, token=pair["access"])["data"]["user"]["username"] == username
    refreshed = client.post("/api/token/refresh/", {"refresh": pair["refresh"]}).json()
    assert gql(ME, token=refreshed["access"])["data"]["user"]["username"] == username


def test_a_refresh_token_is_good_once_on_both_paths(gql, client):
    _, _, username = sign_up(gql)
    login = gql(LOGIN, {"input": {"username": username, "password": PASSWORD}})["data"]["login"]
    first = gql(REFRESH, {"input": {"refreshToken": login["refreshToken"]}})
    assert "errors" not in first, first
    again = gql(REFRESH, {"input": {"refreshToken": login["refreshToken"]}})
    assert again["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # The new one works, once.
    rotated = first["data"]["refreshToken"]["refreshToken"]
    assert "errors" not in gql(REFRESH, {"input": {"refreshToken": rotated}})

    pair = client.post("/api/token/", {"username": username, "password": PASSWORD}).json()
    assert client.post("/api/token/refresh/", {"refresh": pair["refresh"]}).status_code == 200
    reused = client.post("/api/token/refresh/", {"refresh": pair["refresh"]})
    assert reused.status_code == 401, reused.content


@pytest.mark.parametrize(
    "username, password",
    [
        ("ab", PASSWORD),  # too short
        ("x" * 31, PASSWORD),  # too long
        ("has space", PASSWORD),
        ("semi;colon", PASSWORD),
        ("émile", PASSWORD),
        ("valid_name", "short"),  # Django's validators: too short
        ("valid_name", "12345678901"),  # entirely numeric
        ("valid_name", "password123"),  # too common
    ],
)
def test_bad_username_or_password_format_is_bad_user_input_and_stores_nothing(gql, username, password):
    result = gql(SIGN_UP, {"input": {"username": username, "password": password}})
    assert error_code(result) == "BAD_USER_INPUT"
    assert not get_user_model().objects.exists()


def test_duplicate_username_is_bad_user_input(gql):
    sign_up(gql, "taken")
    result = gql(SIGN_UP, {"input": {"username": "TAKEN", "password": PASSWORD}})
    assert error_code(result) == "BAD_USER_INPUT"
    assert get_user_model().objects.count() == 1


def test_wrong_password_is_unauthenticated(gql):
    _, _, username = sign_up(gql)
    assert error_code(gql(LOGIN, {"input": {"username": username, "password": "not the one"}})) == "UNAUTHENTICATED"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_bad_token_is_unauthenticated(gql, client, token):
    response = client.post("/graphql/", {"query": ME}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_expired_token_is_unauthenticated(gql):
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    sign_up(gql)
    token = AccessToken.for_user(get_user_model().objects.get())
    token.set_exp(lifetime=-timedelta(seconds=1))
    assert error_code(gql(ME, token=str(token))) == "UNAUTHENTICATED"


def test_no_credentials_is_unauthenticated(gql):
    assert error_code(gql(ME)) == "UNAUTHENTICATED"


def test_deactivated_user_is_forbidden(gql):
    token, user_id, username = sign_up(gql)
    get_user_model().objects.filter(pk=user_id).update(is_active=False)
    assert error_code(gql(ME, token=token)) == "FORBIDDEN"
    assert error_code(gql(LOGIN, {"input": {"username": username, "password": PASSWORD}})) == "FORBIDDEN"


def test_an_unknown_username_costs_a_password_hash_like_a_known_one(gql, monkeypatch):
    """Login timing must not reveal which usernames exist: both paths hash the password once."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    sign_up(gql, "known")
    hashed = []
    real = PBKDF2PasswordHasher.encode

    def counting(self, *args, **kwargs):
        hashed.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(PBKDF2PasswordHasher, "encode", counting)
    for username in ("known", "nobody-here"):
        hashed.clear()
        result = gql(LOGIN, {"input": {"username": username, "password": "wrong but long enough"}})
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert len(hashed) == 1, f"{username}: {len(hashed)} password hashes"


def test_a_deleted_users_refresh_token_is_refused_with_401_on_both_paths(gql, client):
    _, _, username = sign_up(gql)
    login = gql(LOGIN, {"input": {"username": username, "password": PASSWORD}})["data"]["login"]
    pair = client.post("/api/token/", {"username": username, "password": PASSWORD}).json()
    get_user_model().objects.filter(username=username).delete()
    assert error_code(gql(REFRESH, {"input": {"refreshToken": login["refreshToken"]}})) == "UNAUTHENTICATED"
    response = client.post("/api/token/refresh/", {"refresh": pair["refresh"]})
    assert response.status_code == 401 and response["Content-Type"] == "application/json", response.content[:200]


@pytest.mark.parametrize("password", [" " * 12, "\u200b" * 12, "long enough\x00password", "long enough \ud800 password"],
                         ids=["spaces", "invisible", "nul", "lone-surrogate"])
def test_a_password_of_spaces_or_unstorable_characters_is_refused(gql, password):
    result = gql(SIGN_UP, {"input": {"username": "spacey", "password": password}})
    assert error_code(result) == "BAD_USER_INPUT"
    assert not get_user_model().objects.filter(username="spacey").exists()
    login = gql(LOGIN, {"input": {"username": "spacey", "password": password}})
    assert error_code(login) in {"BAD_USER_INPUT", "UNAUTHENTICATED"}


# Throttles (SPEC 5), counted in the database so every process sees the same count.


@pytest.fixture
def few(settings):
    settings.LOGIN_FAILURES_MAX = 3
    settings.LOGINS_PER_MINUTE = 8
    settings.SIGNUPS_PER_ADDRESS = 3
    settings.ROOMS_PER_MINUTE = 2
    return settings


def test_after_too_many_failed_logins_even_the_right_password_is_refused_and_says_when(gql, client, few):
    sign_up(gql, "target")
    for _ in range(3):
        assert error_code(gql(LOGIN, {"input": {"username": "target", "password": "wrong but long enough"}})) == "UNAUTHENTICATED"
    locked = gql(LOGIN, {"input": {"username": "TARGET", "password": PASSWORD}})
    assert error_code(locked) == "RATE_LIMITED"
    assert "try again in" in locked["errors"][0]["message"]
    token = client.post("/api/token/", {"username": "target", "password": PASSWORD})
    assert token.status_code == 429, token.content


def test_one_address_tries_so_many_logins_a_minute(gql, few):
    sign_up(gql, "someone")
    codes = [error_code(gql(LOGIN, {"input": {"username": f"nobody{n}", "password": "wrong but long enough"}})) for n in range(9)]
    assert codes[:8] == ["UNAUTHENTICATED"] * 8 and codes[8] == "RATE_LIMITED", codes


def test_one_address_signs_up_so_many_in_the_window(gql, few):
    for n in range(3):
        sign_up(gql, f"newbie{n}")
    result = gql(SIGN_UP, {"input": {"username": "newbie9", "password": PASSWORD}})
    assert error_code(result) == "RATE_LIMITED"
    assert not get_user_model().objects.filter(username="newbie9").exists()


def test_a_user_creates_so_many_rooms_a_minute(gql, few):
    token, _, _ = sign_up(gql)
    create = "mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }"
    results = [gql(create, {"input": {"id": f"room-{n}", "name": f"Room {n}"}}, token=token) for n in range(3)]
    assert ["errors" not in r for r in results] == [True, True, False]
    assert error_code(results[2]) == "RATE_LIMITED"
