"""Every 422 in every service's OpenAPI document admits both shapes the services answer:
FastAPI's validation errors and a sentence for a rule no schema can express (the
schemathesis run on the stack checks real answers against the same documents)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.security.world import openapi_documents


def _422_schemas(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            response = operation.get("responses", {}).get("422")
            if response:
                found.append((f"{method.upper()} {path}", response["content"]["application/json"]["schema"]))
    return found


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; resolve #/components/... in the document.
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


@pytest.mark.parametrize("service", sorted(openapi_documents()))
def test_every_documented_422_accepts_a_sentence_and_a_validation_list(service: str) -> None:
    document = openapi_documents()[service]
    schemas = _422_schemas(document)
    assert schemas, f"{service} documents no 422 at all"
    sentence = {"detail": "the file is empty: export the products first to get the columns"}
    validation = {"detail": [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]}
    for where, schema in schemas:
        validator = _validator(document, schema)
        assert validator.is_valid(sentence), f"{service} {where}: a 422 sentence breaks the document"
        assert validator.is_valid(validation), f"{service} {where}: a validation 422 breaks the document"
        assert not validator.is_valid({"detail": 42}), f"{service} {where}: the 422 schema accepts anything"
