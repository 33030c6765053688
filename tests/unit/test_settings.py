import msgspec
import pytest

from suggestions.settings import load_settings


def test_retention_days_come_from_the_environment() -> None:
    assert load_settings({}).retention_days == 365
    assert load_settings({"SUGGESTIONS_RETENTION_DAYS": "90"}).retention_days == 90


@pytest.mark.parametrize("days", ["-1", "a year"])
def test_a_bad_retention_period_is_refused(days: str) -> None:
    with pytest.raises(msgspec.ValidationError, match="retention_days"):
        load_settings({"SUGGESTIONS_RETENTION_DAYS": days})
