"""The OpenAPI document says what the API enforces and answers: clients generate code from it."""

from __future__ import annotations

from typing import Any

import pytest

from suggestions.app import create_app
from suggestions.intake.schema import EXTERNAL_ID_PATTERN
from suggestions.settings import Settings

PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # Building the app opens nothing: the placeholders are never used.
    app = create_app(Settings(), pool=object(), queue=object(), model=object(), gazetteer=object())
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{method.upper()} {path}", op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_request_bodies_refuse_unknown_fields_and_say_so(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    bodies = [
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for _, op in operations(document)
        if "requestBody" in op
    ]
    assert bodies
    for ref in bodies:
        assert schemas[ref.rsplit("/", 1)[1]]["additionalProperties"] is False, ref


def test_the_external_id_filter_says_what_an_external_id_is(document: dict[str, Any]) -> None:
    [external_id] = [p for p in document["paths"]["/api/v1/items"]["get"]["parameters"] if p["name"] == "external_id"]
    assert external_id["schema"]["pattern"] == EXTERNAL_ID_PATTERN


def test_every_error_an_endpoint_declares_is_problem_details(document: dict[str, Any]) -> None:
    for label, op in operations(document):
        if label == "GET /readyz":  # not ready is a readiness report, like ready
            continue
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}, (label, status)
        if op.get("security") == [{"bearer": []}]:
            assert {"401", "403"} <= set(op["responses"]), label


def test_an_item_stored_by_an_earlier_request_declares_where_to_track_it_too(document: dict[str, Any]) -> None:
    # A 200 (the same Idempotency-Key or external_id again) says Location as a 201 does: a client that follows it
    # after a retry finds it declared.
    responses = document["paths"]["/api/v1/items"]["post"]["responses"]
    for status in ("201", "200"):
        location = responses[status]["headers"]["Location"]
        assert location["required"] is True, status
        assert location["schema"]["type"] == "string", status


def test_the_headers_an_error_comes_with_are_declared(document: dict[str, Any]) -> None:
    # A client generated from the document reads when to try again after a 429 or a 503, and how to authenticate
    # after a 401, from the headers each comes with; undeclared, many generators leave them out.
    declared = 0
    for label, op in operations(document):
        for status, response in op["responses"].items():
            if response.get("content") != {"application/problem+json": {"schema": PROBLEM}}:
                continue
            expected = {"429": "Retry-After", "503": "Retry-After", "401": "WWW-Authenticate"}.get(status)
            if expected is None:
                continue
            header = (response.get("headers") or {}).get(expected)
            assert header is not None, (label, status)
            assert header["required"] is True, (label, status)
            assert header["schema"]["type"] == ("integer" if expected == "Retry-After" else "string"), (label, status)
            declared += 1
    assert declared > 20


def test_a_risk_level_is_bounded_at_both_ends(document: dict[str, Any]) -> None:
    """A client built from the document must not send a risk below 0: the API refuses it."""
    [min_risk] = [p for p in document["paths"]["/api/v1/triage"]["get"]["parameters"] if p["name"] == "min_risk"]
    correction = document["components"]["schemas"]["Correction"]["properties"]["risk_level"]
    for schema in (min_risk["schema"], correction):
        assert (schema.get("minimum"), schema.get("maximum")) == (0, 3), schema
