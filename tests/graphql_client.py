"""GraphQL over HTTP the way clients speak it: in-process (Django's client) or to a server."""
import itertools
import json

import requests

SIGN_UP = """mutation($input: AuthInput!) {
  signUp(input: $input) { accessToken refreshToken user { id username } }
}"""
CREATE_POST = """mutation($input: CreatePostInput!) { createPost(input: $input) { success requestId } }"""
POSTS = """query($input: PostsInput!) {
  posts(input: $input) { id roomId seq userId author body isBot createdAt }
}"""
PASSWORD = "a long enough passphrase"
_names = itertools.count(1)


def new_username(prefix="user"):
    return f"{prefix}{next(_names)}"


class InProcess:
    """Django's test client against the GraphQL view."""

    def __init__(self, client):
        self.client = client

    def __call__(self, query, variables=None, token=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        response = self.client.post(
            "/graphql/", json.dumps({"query": query, "variables": variables or {}}), content_type="application/json", **headers
        )
        return response.json()


class OverHttp:
    """A real HTTP client against a started `web` process."""

    def __init__(self, base_url):
        self.url = f"{base_url}/graphql/"

    def __call__(self, query, variables=None, token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = requests.post(self.url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=15)
        return response.json()


def sign_up(gql, username=None):
    """A new user; returns (access token, user id, username)."""
    username = username or new_username()
    result = gql(SIGN_UP, {"input": {"username": username, "password": PASSWORD}})
    assert "errors" not in result, result
    payload = result["data"]["signUp"]
    return payload["accessToken"], payload["user"]["id"], username


def error_code(result):
    assert result.get("errors"), f"expected an error, got {result}"
    return result["errors"][0]["extensions"]["code"]
