"""Access tokens are remembered once verified (the same till sends the same token with
every request): the remembered answer is the verified one, an expired token is still
refused, and a token differing by one character is verified on its own (and refused)."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from pos_platform.auth import TokenVerifier
from pos_platform.testing import mint_token


def test_a_remembered_token_still_expires(keys: tuple[Path, Path]) -> None:
    verifier = TokenVerifier(str(keys[1]), "pos", "pos-identity")
    token = mint_token(keys[0], "cashier", ["o1"], user_id="u1", ttl_seconds=2)
    first = verifier.verify(token)
    assert verifier.verify(token) is first  # remembered, not verified again
    assert (first.user_id, first.role, first.outlets) == ("u1", "cashier", ["o1"])
    time.sleep(2.2)
    with pytest.raises(jwt.ExpiredSignatureError):
        verifier.verify(token)
    with pytest.raises(jwt.ExpiredSignatureError):
        verifier.verify(token)  # and forgotten: verified afresh, refused again


def test_a_token_altered_after_being_remembered_is_refused(keys: tuple[Path, Path]) -> None:
    verifier = TokenVerifier(str(keys[1]), "pos", "pos-identity")
    token = mint_token(keys[0], "manager", ["o1"])
    verifier.verify(token)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(jwt.InvalidTokenError):
        verifier.verify(forged)
    other = TokenVerifier(str(keys[1]), "pos", "pos-identity")
    with pytest.raises(jwt.InvalidTokenError):
        other.verify(mint_token(keys[0], "manager", ["o1"], audience="someone-else"))
