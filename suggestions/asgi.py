"""Entry point for ASGI servers: `uvicorn --factory suggestions.asgi:create`."""

from litestar import Litestar

from suggestions.app import create_app
from suggestions.logs import configure_logging
from suggestions.settings import load_settings


def create() -> Litestar:
    configure_logging()
    return create_app(load_settings())
