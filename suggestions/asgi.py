"""Entry point for ASGI servers: `uvicorn --factory suggestions.asgi:create`."""

from litestar import Litestar

from suggestions.app import create_app
from suggestions.logs import configure_logging
from suggestions.settings import load_settings


def create() -> Litestar:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
