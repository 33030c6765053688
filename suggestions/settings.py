"""Settings, read once from the environment into one frozen struct."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from limits import parse_many
from msgspec import Meta

from suggestions.privacy import AREA_CODE, public_phones

# A count of things (connections, bytes, items, attempts, seconds, hours) that must be at least one.
Positive = Annotated[int, Meta(ge=1)]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_RETENTION_DAYS = 36_500  # a century: a longer period is a typo, and PostgreSQL's interval refuses far longer


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # PostgreSQL DSN; empty means "start an embedded server under data_dir" (development only).
    database_url: str = ""
    # Redis URL (redis:// or unix://); empty means "start an embedded server under data_dir" (development only).
    redis_url: str = ""
    # Where embedded servers keep their files.
    data_dir: str = ".data"
    # Name of the arq queue; several deployments may share one Redis.
    queue_name: str = "suggestions:classify"
    # Folder of the serving model; empty means the default model built from the seed corpus.
    model_dir: str = ""
    # Connections each API process keeps open to PostgreSQL.
    db_pool_size: Positive = 10
    # Largest request body accepted, in bytes.
    max_body_bytes: Positive = 64 * 1024
    # Items a worker classifies in one model call.
    classify_batch_size: Positive = 32
    # Failed classification attempts before an item is marked failed and left to staff.
    max_attempts: Positive = 3
    # How long a worker may hold an item before another may take it over, in seconds. A batch takes well under a
    # second; a short lease lets a killed worker's items go back to work soon. A second worker finding an item whose
    # lease ran out cannot classify it twice: only items still pending are recorded.
    lease_seconds: Positive = 20
    # A pending item older than this, in seconds, is put back on the queue by the sweeper.
    sweep_after_seconds: Annotated[int, Meta(ge=0)] = 15
    # How long an Idempotency-Key is remembered, in hours.
    idempotency_hours: Positive = 24
    # The district's data folder (topics, user dictionary, gazetteer); empty means the packaged default district.
    district_dir: str = ""
    # Rate limits ("10/minute;60/hour"; empty turns one off), counted in Redis across API processes. public:
    # anonymous submissions per browser (the residents' pages' signed cookie), or per client address for a client
    # without one; public_address: anonymous submissions per client address whatever the cookie, the ceiling of a
    # neighbourhood behind one carrier address (CGNAT); token: requests per bearer token; address: every request per
    # client address. Addresses are IPv4 addresses or IPv6 /64 networks. A district's busiest hour is a few hundred
    # items; these leave room for a neighbourhood's burst and a hotline centre behind one address and stop a script.
    rate_limit_public: str = "10/minute;60/hour"
    rate_limit_public_address: str = "30/minute;300/hour"
    rate_limit_token: str = "600/minute"  # noqa: S105 (a limit, not a secret)
    rate_limit_address: str = "1200/minute"
    # Phones looked up per token (a caller's earlier items, the open cases of their reports), each counted once in 10
    # minutes: an operator asks about one caller a call at 30 calls an hour; a token asking about far more phones is
    # reading them out of the database.
    rate_limit_caller: str = "20/minute;200/hour"
    # Port on which each worker serves its Prometheus counters; 0: none (the API's /metrics has the service's state).
    worker_metrics_port: Annotated[int, Meta(ge=0, le=65535)] = 0
    # The residents' pages' public origin (https://12345.example.gov.cn; several, if the pages have several names,
    # separated by commas), which their forms must come from; empty: the Host (or X-Forwarded-Host) the request
    # arrived with. Set it behind a proxy that rewrites Host.
    public_origin: str = ""
    # The office numbers staff replies and notes tell residents to call (010-69712345, separated by commas): shown as
    # written there, where every other phone is masked. Residents' own texts are masked whatever they hold. A report
    # left with one is no one person's when a case counts reporters (the worker records them as it starts).
    public_phones: str = ""
    # The district's telephone area code (区号, 010 for Beijing): a landline a caller gives without it, as they dial it
    # in the district, is completed with it, so that the same phone typed either way is one caller. Empty: a landline
    # must be given with its area code.
    area_code: str = "010"
    # The district's time zone (IANA name): the dates residents' pages show, the days of the satisfaction report and
    # of `suggestions export classifications`.
    timezone: str = "Asia/Shanghai"
    # Days after closing that an item's personal data is kept; then the workers erase it (hourly; by hand: retention).
    retention_days: Annotated[int, Meta(ge=0, le=MAX_RETENTION_DAYS)] = 365
    # Logs: one JSON object a line, or plain lines for a person at a terminal; and the least level written.
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        """Values whose mistakes would only show later, as a 500 on some request or a traceback at start, are refused
        when the settings are read (msgspec reports the ValueError as a ValidationError)."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: {self.timezone!r} is no IANA time zone, e.g. Asia/Shanghai") from None
        for name in (
            "rate_limit_public",
            "rate_limit_public_address",
            "rate_limit_token",
            "rate_limit_address",
            "rate_limit_caller",
        ):
            spec: str = getattr(self, name)
            try:
                if spec.strip():
                    parse_many(spec)
            except ValueError:
                raise ValueError(f"{name}: {spec!r} is no rate limit, e.g. 10/minute;60/hour") from None
        if self.area_code and not re.fullmatch(AREA_CODE, self.area_code):
            raise ValueError(f"area_code: {self.area_code!r} is no area code, e.g. 010 or 0591")
        public_phones(self.public_phones, area_code=self.area_code)
        if self.log_level.upper() not in LOG_LEVELS:
            raise ValueError(f"log_level: {self.log_level!r} is none of {', '.join(LOG_LEVELS)}")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from SUGGESTIONS_* variables, plus the conventional DATABASE_URL and REDIS_URL."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {
        key.removeprefix("SUGGESTIONS_").lower(): value for key, value in env.items() if key.startswith("SUGGESTIONS_")
    }
    for conventional in ("DATABASE_URL", "REDIS_URL"):
        if conventional in env:
            values.setdefault(conventional.lower(), env[conventional])
    settings = msgspec.convert(values, Settings, strict=False)
    check_settings(settings)
    return settings


class SettingsError(ValueError):
    """A setting of the right type that cannot work; the message names the variable and never quotes a URL, which may
    hold a password."""


# What the clients accept; anything else fails at the first connection, long after the process started.
DATABASE_SCHEMES = ("postgresql://", "postgres://")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def check_settings(settings: Settings) -> None:
    """Refuse at start what would otherwise fail at the first connection, long after the process started. (Values
    that fail on their own, a time zone that does not exist say, are refused by `Settings` itself.)"""
    if settings.database_url and not settings.database_url.startswith(DATABASE_SCHEMES):
        raise SettingsError(f"DATABASE_URL must start with {' or '.join(DATABASE_SCHEMES)}")
    if settings.database_url and not _ports_readable(settings.database_url):
        raise SettingsError("DATABASE_URL: a port that is no number from 0 to 65535")
    if settings.redis_url and not settings.redis_url.startswith(REDIS_SCHEMES):
        raise SettingsError(f"REDIS_URL must start with {', '.join(REDIS_SCHEMES[:-1])} or {REDIS_SCHEMES[-1]}")
    if settings.redis_url:
        from arq.connections import RedisSettings

        try:
            RedisSettings.from_dsn(settings.redis_url)  # as the queue and the workers read it
        except ValueError:
            raise SettingsError("REDIS_URL: a port or a database that is no number") from None


def _ports_readable(url: str) -> bool:
    """Whether each host of a database URL (asyncpg takes several, separated by commas) has a port that is a number,
    or none."""
    hosts = urlsplit(url).netloc.rpartition("@")[2]
    try:
        for host in hosts.split(","):
            urlsplit(f"//{host}").port  # noqa: B018 (read for the ValueError it raises)
    except ValueError:
        return False
    return True
