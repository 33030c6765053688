"""Which database errors read as an outage (503, try again) and which are bugs (500)."""

from __future__ import annotations

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base

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
    return next(handlers[cls] for cls in exc.__mro__ if cls in handlers)


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
        asyncpg.exceptions.TransactionResolutionUnknownError,  # 08007: the commit may have happened
        asyncpg_base.DataError,  # an argument of the wrong type for a query
        asyncpg.exceptions.UndefinedColumnError,
    ):
        assert handler_for(exc) is on_unexpected, exc
        assert not issubclass(exc, DATABASE_OUTAGES) or exc is asyncpg_base.DataError
