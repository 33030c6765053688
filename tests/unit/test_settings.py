import msgspec
import pytest
from click.testing import CliRunner

from suggestions.cli import main
from suggestions.settings import SettingsError, load_settings


def test_retention_days_come_from_the_environment() -> None:
    assert load_settings({}).retention_days == 365
    assert load_settings({"SUGGESTIONS_RETENTION_DAYS": "90"}).retention_days == 90


@pytest.mark.parametrize("days", ["-1", "a year"])
def test_a_bad_retention_period_is_refused(days: str) -> None:
    with pytest.raises(msgspec.ValidationError, match="retention_days"):
        load_settings({"SUGGESTIONS_RETENTION_DAYS": days})


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        # Each of these, taken, would fail later: a 500 on every satisfaction report and tracking page, a
        # traceback when the API or a worker started, or a worker that never classified anything.
        ("SUGGESTIONS_TIMEZONE", "Asia/Shangai", "timezone"),
        ("SUGGESTIONS_TIMEZONE", "", "timezone"),
        ("SUGGESTIONS_TIMEZONE", "../etc/passwd", "timezone"),
        ("SUGGESTIONS_PUBLIC_PHONES", "010-69712345,热线", "SUGGESTIONS_PUBLIC_PHONES"),
        ("SUGGESTIONS_RATE_LIMIT_PUBLIC", "10 a minute", "rate_limit_public"),
        ("SUGGESTIONS_RATE_LIMIT_ADDRESS", "1200/fortnight", "rate_limit_address"),
        ("SUGGESTIONS_RATE_LIMIT_CALLER", "20 a minute", "rate_limit_caller"),
        ("SUGGESTIONS_RATE_LIMIT_PUBLIC_ADDRESS", "300 an hour", "rate_limit_public_address"),
        ("SUGGESTIONS_PUBLIC_PHONES", "010-69712345,12345", "SUGGESTIONS_PUBLIC_PHONES"),
        ("SUGGESTIONS_AREA_CODE", "10", "area_code"),
        ("SUGGESTIONS_AREA_CODE", "0101", "area_code"),
        ("SUGGESTIONS_AREA_CODE", "北京", "area_code"),
        ("SUGGESTIONS_LOG_LEVEL", "verbose", "log_level"),
        ("SUGGESTIONS_LOG_FORMAT", "xml", "log_format"),
        ("SUGGESTIONS_CLASSIFY_BATCH_SIZE", "0", "classify_batch_size"),
        ("SUGGESTIONS_DB_POOL_SIZE", "0", "db_pool_size"),
        ("SUGGESTIONS_MAX_ATTEMPTS", "0", "max_attempts"),
        ("SUGGESTIONS_WORKER_METRICS_PORT", "70000", "worker_metrics_port"),
    ],
)
def test_a_bad_setting_is_refused_when_read_naming_it(variable: str, value: str, field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        load_settings({variable: value})


def test_the_area_code_is_beijings_unless_set() -> None:
    assert load_settings({}).area_code == "010"
    assert load_settings({"SUGGESTIONS_AREA_CODE": "0591"}).area_code == "0591"


def test_the_log_settings_are_settings_too() -> None:
    settings = load_settings({"SUGGESTIONS_LOG_LEVEL": "warning", "SUGGESTIONS_LOG_FORMAT": "text"})
    assert (settings.log_level, settings.log_format) == ("warning", "text")
    assert load_settings({"SUGGESTIONS_TIMEZONE": "Asia/Urumqi"}).timezone == "Asia/Urumqi"


def test_serve_refuses_a_bad_setting_in_one_line() -> None:
    env = {"DATABASE_URL": "postgresql://x", "REDIS_URL": "redis://x", "SUGGESTIONS_TIMEZONE": "Asia/Shangai"}
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: bad SUGGESTIONS_* setting: timezone: 'Asia/Shangai' is no IANA time zone, e.g. Asia/Shanghai"
    ]


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"DATABASE_URL": "mysql://app:s3cret@db/suggestions"}, "DATABASE_URL"),
        ({"REDIS_URL": "127.0.0.1:6379"}, "REDIS_URL"),
        # Read without complaint, these gave every command a traceback at its first connection.
        ({"DATABASE_URL": "postgresql://app:s3cret@db:5432x/suggestions"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://app:s3cret@db:99999/suggestions"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://app:s3cret@db1:5432,db2:x/suggestions"}, "DATABASE_URL"),
        ({"REDIS_URL": "redis://:s3cret@cache:6379x/0"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://:s3cret@cache:6379/queue"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://:s3cret@cache:6379?db=queue"}, "REDIS_URL"),
    ],
)
def test_a_setting_that_cannot_work_is_refused_when_read(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named) as refused:
        load_settings(environ)
    assert "s3cret" not in str(refused.value)


def test_the_usual_urls_and_the_default_zone_are_accepted() -> None:
    settings = load_settings(
        {"DATABASE_URL": "postgres://app@db/suggestions", "REDIS_URL": "unix:///run/redis.sock?db=2"}
    )
    assert settings.timezone == "Asia/Shanghai"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app@db1:5432,db2:5433/suggestions",
        "postgresql://app@db1,db2/suggestions",
        "postgresql://app@[::1]:5432/suggestions",
        "postgresql:///suggestions?host=/var/run/postgresql",
    ],
)
def test_database_urls_asyncpg_takes_are_accepted(url: str) -> None:
    assert load_settings({"DATABASE_URL": url}).database_url == url


def test_serve_refuses_a_url_it_cannot_read_in_one_line_without_quoting_it() -> None:
    env = {"DATABASE_URL": "postgresql://app:s3cret@db/suggestions", "REDIS_URL": "redis://:s3cret@cache:6379/queue"}
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "REDIS_URL" in result.output
    assert "s3cret" not in result.output
