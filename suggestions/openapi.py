"""The OpenAPI document says what the service enforces, where Litestar's generated schema leaves it out."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from litestar._openapi.schema_generation import SchemaCreator
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import OpenAPIHeader, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.typing import FieldDefinition

from suggestions.errors import PROBLEM_JSON

# Litestar leaves a bound of 0 out of the document (it reads `ge=0` as no bound): a field bounded at 0 says so again.
ZERO_MINIMUM = {"minimum": 0}


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """A body that refuses unknown fields (`forbid_unknown_fields`) has a schema with `additionalProperties: false`."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        if not super().is_plugin_supported_field(field_definition):
            return False
        info = msgspec.inspect.type_info(field_definition.type_)
        return isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


_RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER), required=True, description="seconds to wait before trying again"
)
# The header each problem comes with, by status: when to try again, and how to authenticate.
PROBLEM_HEADERS = {
    "401": ("WWW-Authenticate", OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), required=True)),
    "429": ("Retry-After", _RETRY_AFTER),
    "503": ("Retry-After", _RETRY_AFTER),
}


@dataclass
class ProblemOperation(Operation):
    """An operation whose problems declare the headers they come with: Litestar's responses (`ResponseSpec`) carry
    none, and a client generated from the document would not know when to try again."""

    def __post_init__(self) -> None:
        for status, response in (self.responses or {}).items():
            if (
                status in PROBLEM_HEADERS
                and isinstance(response, OpenAPIResponse)
                and PROBLEM_JSON in (response.content or {})
            ):
                name, header = PROBLEM_HEADERS[status]
                response.headers = {**(response.headers or {}), name: header}


class ProblemHeadersPlugin(ReceiveRoutePlugin):
    """Every HTTP handler's operation is a `ProblemOperation`; a handler with an operation of its own derives it from
    `ProblemOperation` (`intake.routes.StoredOnceOperation`). Litestar copies handlers as it registers them, so the
    setting stays with this app."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if handler.operation_class is Operation:
                handler.operation_class = ProblemOperation
