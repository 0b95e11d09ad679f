"""The base of every request body of every service."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

# C0 controls and DEL, less tab, line feed and carriage return (a receipt footer has lines).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_text(value: Any) -> Any:
    if isinstance(value, str):
        found = CONTROL_CHARACTERS.search(value)
        if found:
            raise ValueError(f"control character U+{ord(found.group()):04X} is not allowed in text")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    return value


class RequestModel(BaseModel):
    """What a client may send: only the fields a model lists (anything else is a 422);
    numbers as JSON numbers (a quantity sent as the string "2", or as true, is refused,
    not read as 2 or 1: pydantic's strict mode); and no control characters in any text
    (a NUL byte in a product name was stored and printed)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return _check_text(value)
