"""The OpenAPI document says what the service enforces, where Litestar's generated schema leaves it out."""

from __future__ import annotations

import msgspec
from litestar._openapi.schema_generation import SchemaCreator
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import Schema
from litestar.typing import FieldDefinition

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
