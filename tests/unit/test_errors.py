"""Which database errors read as an outage (503, try again) and which are bugs (500)."""

from __future__ import annotations

import inspect
from typing import Any

import asyncpg
import pytest
from asyncpg.exceptions import _base as asyncpg_base
from litestar import Request

from suggestions.errors import (
    DATABASE_OUTAGES,
    exception_handlers,
    on_database_unavailable,
    on_transaction_rollback,
    on_unexpected,
)


def handler_for(exc: type[Exception]) -> object:
    """The handler Litestar picks: the one registered for the nearest class in the exception's MRO."""
    handlers = exception_handlers()
    # Unwrapped: every handler answers a resident's page with a page (`resident_page`).
    return inspect.unwrap(next(handlers[cls] for cls in exc.__mro__ if cls in handlers))


def test_a_lost_connection_is_an_outage() -> None:
    for exc in (
        ConnectionRefusedError,
        asyncpg.exceptions.ConnectionDoesNotExistError,
        asyncpg.exceptions.ConnectionFailureError,
        asyncpg.exceptions.CannotConnectNowError,
        asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.CrashShutdownError,
        asyncpg.exceptions.TooManyConnectionsError,
    ):
        assert handler_for(exc) is on_database_unavailable, exc


def test_a_rolled_back_transaction_is_a_retry() -> None:
    assert handler_for(asyncpg.exceptions.DeadlockDetectedError) is on_transaction_rollback
    assert handler_for(asyncpg.exceptions.SerializationError) is on_transaction_rollback


def test_a_bug_is_not_dressed_as_an_outage() -> None:
    for exc in (
        asyncpg.exceptions.ProtocolViolationError,  # 08P01
        asyncpg_base.DataError,  # an argument of the wrong type for a query
        asyncpg.exceptions.UndefinedColumnError,
    ):
        assert handler_for(exc) is on_unexpected, exc
        assert not issubclass(exc, DATABASE_OUTAGES) or exc is asyncpg_base.DataError


def test_a_transaction_of_unknown_outcome_is_an_outage_that_may_have_been_done() -> None:
    """08007: the server lost the answer to a commit, which may have happened. A 503 that says so, not a 500."""
    assert handler_for(asyncpg.exceptions.TransactionResolutionUnknownError) is on_database_unavailable


def test_an_error_is_logged_with_its_route_never_the_path_the_caller_typed(caplog: pytest.LogCaptureFixture) -> None:
    """A tracking code in a path may be whatever a resident typed, their phone number included."""
    scope: Any = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/track/WHAT-THEY-TYPED/rating",
        "path_template": "/api/v1/track/{tracking_code}/rating",
        "headers": [],
        "query_string": b"",
    }
    for handler in (on_unexpected, on_transaction_rollback):
        caplog.clear()
        handler(Request(scope), RuntimeError())
        logged = " ".join(record.getMessage() for record in caplog.records)
        assert "/api/v1/track/{tracking_code}/rating" in logged
        assert "WHAT-THEY-TYPED" not in logged
