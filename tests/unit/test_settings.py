import msgspec
import pytest

from suggestions.settings import SettingsError, load_settings


def test_retention_days_come_from_the_environment() -> None:
    assert load_settings({}).retention_days == 365
    assert load_settings({"SUGGESTIONS_RETENTION_DAYS": "90"}).retention_days == 90


@pytest.mark.parametrize("days", ["-1", "a year"])
def test_a_bad_retention_period_is_refused(days: str) -> None:
    with pytest.raises(msgspec.ValidationError, match="retention_days"):
        load_settings({"SUGGESTIONS_RETENTION_DAYS": days})


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"SUGGESTIONS_TIMEZONE": "Asia/Beijing"}, "SUGGESTIONS_TIMEZONE"),
        ({"SUGGESTIONS_TIMEZONE": "../etc/passwd"}, "SUGGESTIONS_TIMEZONE"),
        ({"SUGGESTIONS_PUBLIC_PHONES": "010-69712345,热线"}, "SUGGESTIONS_PUBLIC_PHONES"),
        ({"DATABASE_URL": "mysql://app:s3cret@db/suggestions"}, "DATABASE_URL"),
        ({"REDIS_URL": "127.0.0.1:6379"}, "REDIS_URL"),
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
