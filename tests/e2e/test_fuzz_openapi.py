"""The API fuzzed from its own OpenAPI schema, once per role: no 500, and every answer is one the schema declares.

Schemathesis reads /api/docs/openapi.json from the app and runs its phases (coverage, fuzzing, stateful) against
the real app in process, on the real PostgreSQL and Redis. Path ids, tracking codes and the case ids in merge and
move bodies are drawn half of the time from seeded rows, so reads and edits reach real items and cases, not only
404s.

`FUZZ_EXAMPLES=500 python3 scripts/check.py tests/e2e/test_fuzz_openapi.py -s` fuzzes harder than the default.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import schemathesis
from schemathesis import engine
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from schemathesis.python import asgi

from suggestions.app import create_app
from suggestions.auth import create_token
from suggestions.settings import Settings
from tests.e2e.test_hotspots import LIFT, OTHER_PROBLEM_SAME_PLACE, FixedTopic, a_browser

ROLES = ("anonymous", "operator", "grid", "staff", "admin", "monitor")
# Examples per operation in the fuzzing phase; the coverage and stateful phases add their own.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
    "bad_input_names_its_field",
)
# positive_data_acceptance stays off: the API keeps rules a JSON schema cannot state (lat and lon together,
# received_at not in the future, a phone number's shape, the district's topics, a cursor the feed gave out, a case
# not merged into itself) and answers them with a 422 naming the field, which the checks above hold to account.

# Operations that must have reached a real row at least once in a run: the seeding works.
READS_BY_ID = {"GET /api/v1/items/{item_id}", "GET /api/v1/cases/{case_id}"}
STAFF = {"staff", "admin"}


@schemathesis.check
def bad_input_names_its_field(ctx: Any, response: Any, case: Any) -> bool | None:
    """Bad input (400, 422) is problem details that name every field they are about."""
    if response.status_code not in (400, 422):
        return None
    problem = response.json()
    fields = [error.get("field") for error in problem.get("errors") or []]
    if not fields or not all(fields):
        raise AssertionError(f"bad input that does not name its field: {problem}")
    return None


class Seeded(msgspec.Struct, frozen=True):
    item_ids: list[int]
    case_ids: list[int]
    tracking_codes: list[str]


@pytest.fixture(scope="module")
def fuzz_app(settings: Settings, model: Any, gazetteer: Any) -> Iterator[Any]:
    """The app opening its own pool and queue: schemathesis calls it from an event loop of its own."""
    app = create_app(settings, model=model, gazetteer=gazetteer)
    yield app
    asgi.shutdown_lifespans()


async def _bearer(pool: Any, role: str) -> dict[str, str]:
    async with pool.acquire() as conn:
        return {"Authorization": f"Bearer {await create_token(conn, role=role)}"}


@pytest.fixture
async def seeded(client: Any, drain: Any, model: Any, pool: Any) -> Seeded:
    """Five classified reports of one problem (a case and a hotspot), one of another, and one still pending."""
    senders = {"web": {}, "hotline": await _bearer(pool, "operator"), "grid": await _bearer(pool, "grid")}
    created = []
    for number, (channel, text) in enumerate([*LIFT, ("web", OTHER_PROBLEM_SAME_PLACE)]):
        body = {"channel": channel, "text": text} | ({"external_id": f"WO-{number}"} if channel != "web" else {})
        # Each resident in a browser of their own: the two web reports from one would be one reporter.
        headers = senders[channel] if channel != "web" else await a_browser(client)
        response = await client.post("/api/v1/items", json=body, headers=headers)
        assert response.status_code == 201, response.text
        created.append(response.json())
    await drain(model=FixedTopic(model, "城乡建设"))
    response = await client.post("/api/v1/items", json={"channel": "web", "text": OTHER_PROBLEM_SAME_PLACE})
    created.append(response.json())
    case_ids = [row["id"] for row in await pool.fetch("SELECT id FROM cases ORDER BY id")]
    assert await pool.fetchval("SELECT count(*) FROM hotspots WHERE status = 'active'") >= 1
    return Seeded(
        item_ids=[c["id"] for c in created], case_ids=case_ids, tracking_codes=[c["tracking_code"] for c in created]
    )


class Caller(msgspec.Struct, frozen=True):
    role: str
    headers: dict[str, str]


@pytest.fixture(params=ROLES)
async def caller(request: pytest.FixtureRequest, pool: Any) -> Caller:
    role: str = request.param
    return Caller(role=role, headers={} if role == "anonymous" else await _bearer(pool, role))


def fuzz_config(seeded: Seeded, headers: dict[str, str]) -> SchemathesisConfig:
    half = 0.5
    return SchemathesisConfig.from_dict(
        {
            "headers": headers,
            # Each run starts afresh: its rows and ids are new, and nothing is written into the repository.
            "cache": {"enabled": False},
            "generation": {"max-examples": EXAMPLES},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "dictionaries": {
                "items": {"values": seeded.item_ids},
                "cases": {"values": seeded.case_ids},
                "codes": {"values": seeded.tracking_codes},
            },
            "parameters": {
                "path.item_id": {"dictionary": "items", "probability": half},
                "path.case_id": {"dictionary": "cases", "probability": half},
                "path.tracking_code": {"dictionary": "codes", "probability": half},
                "body.into": {"dictionary": "cases", "probability": half},
                "body.case_id": {"dictionary": "cases", "probability": half},
            },
        }
    )


class Run(msgspec.Struct):
    failures: dict[tuple[str, str, str], str] = msgspec.field(default_factory=dict)  # one per operation and check
    answers: dict[str, Counter[int]] = msgspec.field(default_factory=lambda: defaultdict(Counter))


def run_schemathesis(schema: Any) -> Run:
    run = Run()
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, interaction in event.recorder.interactions.items():
                if interaction.response is not None:
                    label = event.recorder.cases[case_id].value.operation.label
                    run.answers[label][interaction.response.status_code] += 1
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        run.failures.setdefault(
                            (event.label or "", check.name, failure.title),
                            f"{event.label} [{check.name}] {failure.title}\n{failure.message}\n"
                            f"{check.failure_info.code_sample}",
                        )
        elif isinstance(event, events.NonFatalError):
            run.failures.setdefault((event.label, "error", str(event.info)), f"{event.label}: {event.info}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    return run


def test_every_role_gets_only_declared_answers_and_no_server_error(
    fuzz_app: Any, seeded: Seeded, caller: Caller
) -> None:
    config = fuzz_config(seeded, caller.headers)
    run = run_schemathesis(schemathesis.openapi.from_asgi("/api/docs/openapi.json", fuzz_app, config=config))
    # Shown with -s: how hard this run fuzzed, and what each operation answered.
    print(f"\n{caller.role}: {sum(statuses.total() for statuses in run.answers.values())} requests")
    for label, statuses in sorted(run.answers.items()):
        print(f"  {label}: {dict(sorted(statuses.items()))}")
    assert not run.failures, "\n\n".join(run.failures.values())
    if caller.role in STAFF:
        assert {label for label, statuses in run.answers.items() if statuses[200]} >= READS_BY_ID
