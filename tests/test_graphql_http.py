"""GraphQL over HTTP (SPEC 5): a well-formed request answers 200 application/json, errors
and all; a malformed one a 4xx with a JSON body of GraphQL errors; never a traceback."""
import json
import logging

import pytest

from chatsite import graphql as chat_graphql
from tests.clients import POSTS

pytestmark = pytest.mark.django_db

APOLLO_HEADERS = {"HTTP_ACCEPT": "application/graphql-response+json,application/json;q=0.9"}


def post_json(client, payload, **headers):
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post("/graphql/", body, content_type="application/json", **headers)


def graphql_errors(response, status):
    """The response's GraphQL errors, after checking what every answer must look like."""
    text = response.content.decode("utf-8", "replace")
    assert response.status_code == status, text[:500]
    assert response["Content-Type"].split(";")[0] == "application/json", response["Content-Type"]
    assert "Traceback" not in text and 'File "' not in text, text[:500]
    body = json.loads(text)
    assert body["errors"], body
    for error in body["errors"]:
        assert error["extensions"]["code"], error
    return body["errors"]


def code(response, status):
    return graphql_errors(response, status)[0]["extensions"]["code"]


# A well-formed request answers 200 application/json, whatever its GraphQL errors.


def test_a_syntax_error_answers_200_with_bad_user_input(client):
    assert code(post_json(client, {"query": "{ rooms { id "}), 200) == "BAD_USER_INPUT"


def test_an_unknown_field_answers_200_with_bad_user_input(client):
    assert code(post_json(client, {"query": "{ nope }"}), 200) == "BAD_USER_INPUT"


def test_a_missing_variable_answers_200_with_bad_user_input(client):
    assert code(post_json(client, {"query": POSTS, "variables": {}}), 200) == "BAD_USER_INPUT"


def test_a_variable_of_the_wrong_type_answers_200_with_bad_user_input(client):
    variables = {"input": {"roomId": "general", "limit": "fifty"}}
    assert code(post_json(client, {"query": POSTS, "variables": variables}), 200) == "BAD_USER_INPUT"


def test_an_unknown_operation_name_answers_200_with_bad_user_input(client):
    payload = {"query": "query A { __typename }", "operationName": "B"}
    assert code(post_json(client, payload), 200) == "BAD_USER_INPUT"


def test_apollo_clients_headers_get_200_json_for_document_and_variable_errors(client):
    """Exactly what Apollo Client's HttpLink sends: on a 400 it shows only the status."""
    invalid = post_json(client, {"query": "{ nope }", "variables": {}}, **APOLLO_HEADERS)
    assert code(invalid, 200) == "BAD_USER_INPUT"
    coercion = post_json(client, {"query": POSTS, "variables": {"input": {"roomId": 7, "limit": []}}}, **APOLLO_HEADERS)
    assert code(coercion, 200) == "BAD_USER_INPUT"


def test_a_resolver_error_answers_200_with_its_code(client):
    assert code(post_json(client, {"query": "{ rooms { id } }"}), 200) == "UNAUTHENTICATED"


def test_null_variables_and_operation_name_are_accepted(client):
    response = post_json(client, {"query": "{ __typename }", "variables": None, "operationName": None})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_an_application_graphql_body_is_the_document(client):
    response = client.post("/graphql/", "{ __typename }", content_type="application/graphql")
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_a_form_body_still_works(client):
    response = client.post("/graphql/", {"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_a_get_query_still_works(client):
    response = client.get("/graphql/", {"query": "{ __typename }"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_a_browser_get_without_a_query_shows_graphiql(client):
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


# A request that is not well-formed gets a 4xx with a JSON body of BAD_USER_INPUT errors.

MALFORMED_JSON = {
    "not JSON": "{query: nope",
    "a batch": json.dumps([{"query": "{ __typename }"}]),
    "an empty batch": "[]",
    "a string": json.dumps("{ __typename }"),
    "a number": "42",
    "null": "null",
    "no query": json.dumps({"variables": {}}),
    "a null query": json.dumps({"query": None}),
    "a number query": json.dumps({"query": 42}),
    "an object query": json.dumps({"query": {"kind": "Document"}}),
    "list variables": json.dumps({"query": "{ __typename }", "variables": [1]}),
    "string variables": json.dumps({"query": "{ __typename }", "variables": '{"a": 1}'}),
    "number variables": json.dumps({"query": "{ __typename }", "variables": 3}),
    "a number operationName": json.dumps({"query": "{ __typename }", "operationName": 1}),
    "a list operationName": json.dumps({"query": "{ __typename }", "operationName": ["A"]}),
    "deep nesting": "[" * 100_000,
    "deep nesting in variables": '{"query": "{ __typename }", "variables": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}",
}


@pytest.mark.parametrize("body", MALFORMED_JSON.values(), ids=MALFORMED_JSON.keys())
def test_a_malformed_json_body_answers_400_with_bad_user_input(client, body):
    assert code(post_json(client, body), 400) == "BAD_USER_INPUT"


def test_an_empty_json_body_answers_400_with_bad_user_input(client):
    # Django's client sets no Content-Type for an empty body unless told to.
    response = client.generic("POST", "/graphql/", b"", CONTENT_TYPE="application/json")
    assert code(response, 400) == "BAD_USER_INPUT"


def test_a_malformed_body_answers_400_with_apollo_clients_headers_too(client):
    assert code(post_json(client, "[]", **APOLLO_HEADERS), 400) == "BAD_USER_INPUT"


def test_non_utf8_json_answers_400_with_bad_user_input(client):
    assert code(post_json(client, b'{"query": "{ \xff }"}'), 400) == "BAD_USER_INPUT"


def test_non_utf8_application_graphql_answers_400_with_bad_user_input(client):
    response = client.post("/graphql/", b"{ \xff\xfe __typename }", content_type="application/graphql")
    assert code(response, 400) == "BAD_USER_INPUT"


def test_a_text_plain_body_answers_415_with_bad_user_input(client):
    response = client.post("/graphql/", json.dumps({"query": "{ __typename }"}), content_type="text/plain")
    assert code(response, 415) == "BAD_USER_INPUT"


def test_a_post_without_a_content_type_answers_415_with_bad_user_input(client):
    response = client.generic("POST", "/graphql/", json.dumps({"query": "{ __typename }"}).encode(), content_type="")
    assert code(response, 415) == "BAD_USER_INPUT"


def test_invalid_json_variables_in_a_form_answer_400_with_bad_user_input(client):
    response = client.post("/graphql/", {"query": "{ __typename }", "variables": "{nope"})
    assert code(response, 400) == "BAD_USER_INPUT"


def test_a_get_without_a_query_for_json_answers_400_with_bad_user_input(client):
    assert code(client.get("/graphql/", HTTP_ACCEPT="application/json"), 400) == "BAD_USER_INPUT"


def test_get_variables_that_are_not_an_object_answer_400_with_bad_user_input(client):
    response = client.get("/graphql/", {"query": "{ __typename }", "variables": "[1]"}, HTTP_ACCEPT="application/json")
    assert code(response, 400) == "BAD_USER_INPUT"


def test_a_body_over_the_limit_answers_413_with_bad_user_input(client, settings):
    settings.GRAPHQL_MAX_BODY_BYTES = 1000
    padding = " " * 1000
    assert code(post_json(client, {"query": "{ __typename }" + padding}), 413) == "BAD_USER_INPUT"
    response = client.post("/graphql/", "{ __typename }" + padding, content_type="application/graphql")
    assert code(response, 413) == "BAD_USER_INPUT"
    assert code(client.post("/graphql/", {"query": "{ __typename }" + padding}), 413) == "BAD_USER_INPUT"
    assert post_json(client, {"query": "{ __typename }"}).status_code == 200


def test_the_default_body_limit_is_256_kib(client):
    query = "{ __typename }"
    assert post_json(client, {"query": query + " " * (256 * 1024 - 100)}).status_code == 200
    assert code(post_json(client, {"query": query + " " * (256 * 1024)}), 413) == "BAD_USER_INPUT"


# Methods.


def test_a_mutation_by_get_answers_405_allowing_post(client):
    response = client.get("/graphql/", {"query": "mutation { __typename }"}, HTTP_ACCEPT="application/json")
    assert code(response, 405) == "BAD_USER_INPUT"
    assert response["Allow"] == "POST"


def test_a_mutation_by_get_with_apollo_clients_headers_answers_405(client):
    response = client.get("/graphql/", {"query": "mutation { __typename }"}, **APOLLO_HEADERS)
    assert code(response, 405) == "BAD_USER_INPUT"
    assert response["Allow"] == "POST"


def test_other_methods_answer_405_with_json(client):
    response = client.put("/graphql/", json.dumps({"query": "{ __typename }"}), content_type="application/json")
    assert code(response, 405) == "BAD_USER_INPUT"
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


# No internal detail reaches the client.


@pytest.fixture
def graphql_log(caplog):
    """The `chatsite` loggers don't propagate to the root, where caplog listens."""
    logger = logging.getLogger("chatsite.graphql")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_an_unexpected_failure_before_execution_answers_500_json_without_detail(client, monkeypatch, graphql_log):
    def broken(header):
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(chat_graphql, "user_from_authorization", broken)
    response = post_json(client, {"query": "{ __typename }"}, HTTP_AUTHORIZATION="Bearer x")
    [error] = graphql_errors(response, 500)
    assert error == {"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    assert "hunter2" not in response.content.decode()
    assert "hunter2" in graphql_log.text  # logged server-side


def test_an_unexpected_failure_in_execution_answers_internal_server_error_without_detail(client, monkeypatch, graphql_log):
    def broken(self, request):
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(chat_graphql.ChatGraphQLView, "get_context", broken)
    response = post_json(client, {"query": "{ __typename }"})
    [error] = graphql_errors(response, 200)
    assert error == {"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    assert "hunter2" not in response.content.decode()
    assert "hunter2" in graphql_log.text


# Overload: the database can't give a connection in time (the pool's wait ran out).


def test_a_database_that_cannot_answer_in_time_is_unavailable_not_a_500(client, general, monkeypatch):
    from django.db import OperationalError

    from posts import posting
    from tests.clients import CREATE_POST, InProcess, sign_up

    token, _, _ = sign_up(InProcess(client))

    def busy(**kwargs):
        raise OperationalError("couldn't get a connection after 5.00 sec")

    monkeypatch.setattr(posting, "request_post", busy)
    response = post_json(
        client,
        {"query": CREATE_POST, "variables": {"input": {"roomId": "general", "body": "hi", "clientId": "c1"}}},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    [error] = graphql_errors(response, 200)
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert "connection" not in error["message"] and "clientId" in error["message"]


# Cost: one request can't make the server work for seconds or hold a lot of memory.

TOO_MANY_POSTS = "{ " + " ".join(f'p{n}: posts(input: {{roomId: "general"}}) {{ body }}' for n in range(1500)) + " }"
TOO_MANY_TYPENAMES = "{" + " ".join(f"t{n}:__typename" for n in range(12000)) + "}"
FRAGMENT_BOMB = (
    "query { ...a } "
    + " ".join(f"fragment {chr(97 + n)} on Query {{ ...{chr(98 + n)} ...{chr(98 + n)} }}" for n in range(20))
    + " fragment u on Query { rooms { id } }"
).replace("...u ...u", "...u ...u")


@pytest.mark.parametrize("query", [TOO_MANY_POSTS, TOO_MANY_TYPENAMES, FRAGMENT_BOMB], ids=["1500-posts-aliases", "12000-typenames", "fragment-bomb"])
def test_a_query_that_asks_too_much_is_refused_before_it_runs(client, general, query):
    from tests.clients import InProcess, sign_up

    token, _, _ = sign_up(InProcess(client))
    response = post_json(client, {"query": query}, HTTP_AUTHORIZATION=f"Bearer {token}")
    [error, *_] = graphql_errors(response, 200)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in response.json() or response.json()["data"] is None


def test_a_reasonable_query_still_runs(client, general):
    from tests.clients import InProcess, sign_up

    token, _, _ = sign_up(InProcess(client))
    query = "{ user { id username } rooms { id name } a: posts(input: {roomId: \"general\"}) { id seq body } }"
    body = post_json(client, {"query": query}, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert "errors" not in body, body


def test_a_subscription_sent_over_http_is_the_clients_mistake_not_an_internal_error(client, general):
    from tests.clients import InProcess, sign_up

    token, _, _ = sign_up(InProcess(client))
    response = post_json(client, {"query": "subscription { postError { reason } }"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    [error] = graphql_errors(response, 200)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "WebSocket" in error["message"]
