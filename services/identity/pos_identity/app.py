from __future__ import annotations

from fastapi import FastAPI

from pos_identity import admin, routes
from pos_identity.bootstrap import bootstrap
from pos_identity.config import Settings
from pos_identity.handlers import handlers
from pos_identity.tables import metadata
from pos_platform.app import create_service_app
from pos_platform.bus import Bus

NAME = "identity"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None, migrate_on_start: bool = False) -> FastAPI:
    settings = settings or Settings()
    db = settings.open_database(NAME, metadata)
    return create_service_app(
        name=NAME,
        settings=settings,
        db=db,
        routers=[routes.router, admin.router],
        handlers=handlers(),
        bus=bus,
        migrate_on_start=migrate_on_start,
        on_start=bootstrap,
        description="Outlets, registers, users and roles; sessions, PIN switch and manager approvals; the audit log.",
    )
