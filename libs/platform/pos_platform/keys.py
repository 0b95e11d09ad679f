"""Ed25519 signing keys for access tokens (identity holds the private half)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def ensure_keypair(private_file: str, public_file: str) -> bool:
    """Create the key pair if the private key is missing; True if it was created."""
    private_path, public_path = Path(private_file), Path(public_file)
    if private_path.exists():
        if not public_path.exists():
            key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
            _write(public_path, _public_pem(key), 0o644)
        return False
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write(private_path, pem, 0o600)
    _write(public_path, _public_pem(key), 0o644)
    return True


def _public_pem(key: PrivateKeyTypes) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    tmp.replace(path)


if __name__ == "__main__":  # python -m pos_platform.keys PRIVATE PUBLIC
    created = ensure_keypair(sys.argv[1], sys.argv[2])
    print("created" if created else "exists")
