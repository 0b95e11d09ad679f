"""Password and PIN rules, and the Argon2id parameters."""

from __future__ import annotations

import pytest
from argon2 import Parameters, Type, extract_parameters

from pos_identity.domain import hash_password, needs_rehash, password_problem, pin_problem, verify_password


def test_argon2id_at_owasp_minimum() -> None:
    params: Parameters = extract_parameters(hash_password("correct horse battery"))
    assert params.type is Type.ID
    assert params.memory_cost >= 19 * 1024  # KiB: 19 MiB
    assert params.time_cost >= 2
    assert params.parallelism == 1


def test_hash_verifies_and_weaker_hashes_are_upgraded() -> None:
    stored = hash_password("correct horse battery")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse batterz")
    assert not verify_password("not a hash", "x")
    assert not needs_rehash(stored)
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("pw")
    assert needs_rehash(weak)


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short", False),
        ("x" * 11, False),
        ("aaaaaaaaaaaaaaaa", False),
        ("abababababababab", False),
        ("plain but long enough", True),
        ("x" * 257, False),
        ("jane.doe-password", False),  # contains the email's local part
    ],
)
def test_password_policy_is_length_first(password: str, ok: bool) -> None:
    assert (password_problem(password, email="jane.doe@example.com", name="Jane") is None) is ok


@pytest.mark.parametrize(
    ("pin", "ok"),
    [
        ("1234", False),
        ("4321", False),
        ("1111", False),
        ("12a4", False),
        ("123", False),
        ("123456789", False),
        ("2580", True),
        ("9012", False),
        ("90125", True),
    ],
)
def test_pin_policy(pin: str, ok: bool) -> None:
    assert (pin_problem(pin) is None) is ok
