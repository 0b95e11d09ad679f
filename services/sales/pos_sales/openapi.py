"""OpenAPI pieces shared by the sales routes."""

from __future__ import annotations

from typing import Any


def unprocessable(description: str) -> dict[int | str, dict[str, Any]]:
    """A 422 as documented: FastAPI's validation errors, or a rule the schema cannot
    express, answered as {"detail": "<a sentence for the cashier>"}."""
    return {
        422: {
            "description": description,
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/HTTPValidationError"},
                            {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
                        ]
                    }
                }
            },
        }
    }
