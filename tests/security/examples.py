"""Requests for an endpoint, built from its OpenAPI operation: path, query and body
values that name one outlet's objects (so the same request can be aimed at the
caller's own outlet or at another one), and otherwise the smallest valid values."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

# Names whose value identifies an object of an outlet (filled from a Scope).
SCOPED = ("outlet_id", "register_id", "sale_id", "payment_id", "user_id")
STRING_CANDIDATES = ("EUR", "x", "2580", "a@example.com", "2026-01-01", "A1", "standard", "cash")


@dataclass
class Example:
    path: str
    params: dict[str, Any]
    body: Any | None


class Builder:
    def __init__(self, document: dict[str, Any], known: dict[str, str]) -> None:
        self.document = document
        self.known = known  # parameter name -> value (the scope's objects, product ids ...)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.document["components"]["schemas"][name]
        return schema

    def example(self, path: str, method: str) -> Example:
        operation = self.document["paths"].get(path, {}).get(method.lower())
        if operation is None:  # left out of the OpenAPI document (legacy paths)
            filled = re.sub(r"\{(\w+)\}", lambda m: str(self.known.get(m.group(1), uuid.uuid4())), path)
            return Example(filled, {}, {} if method in ("POST", "PUT", "PATCH") else None)
        filled = path
        params: dict[str, Any] = {}
        for parameter in operation.get("parameters", []):
            name, where = parameter["name"], parameter["in"]
            schema = self.resolve(parameter.get("schema", {}))
            if where == "path":
                filled = filled.replace("{" + name + "}", str(self.value(name, schema)))
            elif where == "query" and (parameter.get("required") or name in self.known):
                params[name] = self.value(name, schema)
        body = None
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            body = self.value("", self.resolve(content["application/json"].get("schema", {})))
        return Example(filled, params, body)

    def value(self, name: str, schema: dict[str, Any], depth: int = 0) -> Any:
        schema = self.resolve(schema)
        if name in self.known and schema.get("type") in (None, "string") and "anyOf" not in schema:
            return self.known[name]
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                options = [self.resolve(o) for o in schema[key] if self.resolve(o).get("type") != "null"]
                if options:
                    return self.value(name, options[0], depth)
                return None
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            if depth > 6:
                return {}
            properties = schema.get("properties", {})
            wanted = set(schema.get("required", [])) | {k for k in properties if k in SCOPED}
            return {k: self.value(k, properties[k], depth + 1) for k in properties if k in wanted}
        if kind == "array":
            count = max(1, schema.get("minItems", 1))
            return [self.value(name, schema.get("items", {}), depth + 1) for _ in range(count)]
        if kind == "integer":
            low = schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else schema.get("minimum", 1)
            return min(max(low, 1), schema.get("maximum", max(low, 1)))
        if kind == "number":
            return max(schema.get("minimum", 1), 1)
        if kind == "boolean":
            return False
        return self.string(name, schema)

    def string(self, name: str, schema: dict[str, Any]) -> str:
        if name in self.known:
            return self.known[name]
        if name == "id" or name.endswith("_id") or schema.get("format") == "uuid":
            return str(uuid.uuid4())
        if schema.get("format") == "date":
            return "2026-01-01"
        if schema.get("format") == "date-time":
            return "2026-01-01T00:00:00Z"
        pattern = schema.get("pattern")
        low = schema.get("minLength", 1)
        for candidate in STRING_CANDIDATES:
            if (pattern is None or re.fullmatch(pattern, candidate)) and low <= len(candidate) <= schema.get("maxLength", 10**6):
                return candidate
        if pattern is None:
            return "x" * low
        return "x"
