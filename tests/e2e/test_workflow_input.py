"""The workflow's declared answers, and the feed's topic filter."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_api_contract import problem_fields
from tests.e2e.test_workflow import classified_item


# A body too large is a 413, and the declaration says so.
@pytest.mark.parametrize("step", ["assign", "close"])
async def test_an_oversized_workflow_body_is_a_declared_413(
    client: Any, drain: Any, staff: dict[str, str], step: str
) -> None:
    created = await classified_item(client, drain)
    body = b'{"answer": "' + b"a" * 70_000 + b'"}'
    response = await client.post(
        f"/api/v1/items/{created['id']}/{step}", content=body, headers={**staff, "content-type": "application/json"}
    )
    assert response.status_code == 413
    schema = (await client.get("/api/docs/openapi.json")).json()
    declared = schema["paths"][f"/api/v1/items/{{item_id}}/{step}"]["post"]["responses"]
    assert "413" in declared, sorted(declared)


@pytest.mark.parametrize("topic", ["", "no-such-topic"])
async def test_a_topic_that_is_none_of_the_districts_is_a_422(
    client: Any, drain: Any, staff: dict[str, str], topic: str
) -> None:
    await classified_item(client, drain)
    response = await client.get("/api/v1/triage", params={"topic": topic}, headers=staff)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == {"topic"}
