"""Every integer a client can send has an upper bound in the service's OpenAPI document:
query and path parameters, and every integer of every request body. An unbounded one let
`?offset=18446744073709551616` reach the database and answer 500 (sales, inventory); a
bounded one answers 422 before anything runs."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.security.world import openapi_documents


def _integer_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in [schema, *schema.get("anyOf", [])] if s.get("type") == "integer"]


def _unbounded(schema: dict[str, Any]) -> bool:
    return any("maximum" not in s and "exclusiveMaximum" not in s for s in _integer_schemas(schema))


def test_every_integer_parameter_and_body_field_is_bounded() -> None:
    found = []
    for service, document in openapi_documents().items():
        components = document.get("components", {}).get("schemas", {})
        bodies: set[str] = set()
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                for parameter in operation.get("parameters", []):
                    if _unbounded(parameter.get("schema", {})):
                        found.append(f"{service} {method.upper()} {path}: {parameter['in']} {parameter['name']}")
                for content in operation.get("requestBody", {}).get("content", {}).values():
                    bodies.update(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(content)))
        todo, seen = list(bodies), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            schema = components.get(name, {})
            todo += re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema))
            for field, field_schema in schema.get("properties", {}).items():
                if _unbounded(field_schema) or _unbounded(field_schema.get("items", {})):
                    found.append(f"{service} body {name}.{field}")
    assert found == [], "integers without an upper bound:\n" + "\n".join(found)
