"""The spec's JSON Schema, for editors (YAML language server) and for the docs."""

from __future__ import annotations

from typing import Any

from mobileconfig.spec.model import ProfileSpec

__all__ = ["SCHEMA_ID", "spec_json_schema"]

SCHEMA_ID = "https://mobileconfig-kit.invalid/mobileconfig.schema.json"


def spec_json_schema() -> dict[str, Any]:
    schema = ProfileSpec.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "mobileconfig profile spec"
    return schema
