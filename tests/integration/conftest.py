import pytest


@pytest.fixture(autouse=True)
def _start_empty(clean: None) -> None:
    """Every test here starts from empty tables and an empty queue."""
