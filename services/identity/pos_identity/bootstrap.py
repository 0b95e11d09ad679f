"""First start: signing keys (outside production) and the first admin."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from pos_identity import audit
from pos_identity.accounts import count_users, create_user_row
from pos_identity.config import Settings
from pos_platform.app import ServiceContext
from pos_platform.keys import ensure_keypair

log = logging.getLogger("pos.identity")


def bootstrap(ctx: ServiceContext[Settings]) -> None:
    settings = ctx.settings
    if settings.environment != "production":
        if ensure_keypair(settings.jwt_private_key_file, settings.jwt_public_key_file):
            log.info("generated token signing keys", extra={"public_key": settings.jwt_public_key_file})
    elif not Path(settings.jwt_private_key_file).exists():
        raise RuntimeError(f"POS_JWT_PRIVATE_KEY_FILE {settings.jwt_private_key_file} does not exist")
    with ctx.db.transaction() as uow:
        if count_users(uow):
            return
        password = settings.admin_password
        if not password:
            if settings.environment == "production":
                raise RuntimeError("POS_ADMIN_PASSWORD must be set for the first start in production")
            password = secrets.token_urlsafe(12)
            _write_credentials(settings.admin_credentials_file, settings.admin_email, password)
        user = create_user_row(
            uow, email=settings.admin_email, name="Administrator", password=password, role="admin", outlet_ids=[]
        )
        audit.record(
            uow,
            "user.created",
            target_type="user",
            target_id=user.id,
            details={"after": user.model_dump(mode="json"), "by": "bootstrap"},
        )
    log.info("bootstrapped admin user", extra={"email": settings.admin_email})


def _write_credentials(path: str, email: str, password: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"email: {email}\npassword: {password}\n")
    os.chmod(target, 0o600)
