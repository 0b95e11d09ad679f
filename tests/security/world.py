"""A whole POS in one process (embedded mode: every service, SQLite, in-process bus)
on a free loopback port, seeded with two outlets, and everything the security tests
need to know about it: the services' routes, tokens for each role, and objects that
belong to outlet A (the caller's) and outlet B (someone else's)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from pos_platform.auth import RoleCheck, current_principal
from pos_platform.testing import free_port, mint_token

SERVICES = ("identity", "catalog", "inventory", "sales", "payments", "reports")
PASSWORD = "security-tests-password"


def service_apps(tmp_dir: Path) -> dict[str, FastAPI]:
    """Each service's app as its create_app builds it (not started: only for routes and
    the OpenAPI document)."""
    apps = {}
    for name in SERVICES:
        app_module = importlib.import_module(f"pos_{name}.app")
        config = importlib.import_module(f"pos_{name}.config")
        settings = config.Settings(database_url=f"sqlite:///{tmp_dir / name}.db", jwt_public_key_file=str(tmp_dir / "none.pem"))
        apps[name] = app_module.create_app(settings)
    return apps


_DOCUMENTS: dict[str, dict[str, Any]] = {}


def openapi_documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, built in process (once)."""
    if not _DOCUMENTS:
        import tempfile

        apps = service_apps(Path(tempfile.mkdtemp(prefix="pos-openapi-")))
        _DOCUMENTS.update({name: app.openapi() for name, app in apps.items()})
    return _DOCUMENTS


# --- what each endpoint declares -----------------------------------------------------------

ANY_ROLE = frozenset({"cashier", "manager", "admin"})


def declared_roles(root: Dependant) -> frozenset[str] | None:
    """The roles an endpoint lets in (from its dependencies): None means no token is
    needed at all; every role when it only needs a logged-in user."""
    found: frozenset[str] | None = None
    stack = [root]
    while stack:
        dependant = stack.pop()
        call = dependant.call
        if isinstance(call, RoleCheck):
            found = call.allowed_roles if found is None else found & call.allowed_roles
        elif call is current_principal and found is None:
            found = ANY_ROLE
        stack.extend(dependant.dependencies)
    return found


@dataclass(frozen=True)
class Endpoint:
    service: str
    method: str
    path: str
    roles: frozenset[str] | None
    route: APIRoute = field(compare=False, repr=False)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def endpoints(apps: dict[str, FastAPI]) -> list[Endpoint]:
    """Every API route of every service (HEAD and the root ops paths left out), reads
    first and deletes last, so destructive calls cannot starve the checks after them."""
    found = []
    for service, app in apps.items():
        # Included routers are resolved lazily (FastAPI >= 0.16x): walk the contexts.
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            path = context.path_format or ""
            if not isinstance(route, APIRoute) or not path.startswith("/api/"):
                continue
            dependant = getattr(context._route_context, "dependant", None) or route.dependant
            for method in sorted(route.methods - {"HEAD"}):
                found.append(Endpoint(service, method, path, declared_roles(dependant), route))
    order = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
    return sorted(found, key=lambda e: (order.get(e.method, 5), e.service, e.path))


# --- the running POS -----------------------------------------------------------------------


@dataclass
class Scope:
    """The objects of one outlet (what a path, query or body parameter names)."""

    outlet_id: str
    register_id: str = ""
    sale_id: str = ""
    payment_id: str = ""
    cashier_id: str = ""
    manager_id: str = ""

    def values(self) -> dict[str, str]:
        return {
            "outlet_id": self.outlet_id,
            "register_id": self.register_id,
            "sale_id": self.sale_id,
            "payment_id": self.payment_id,
            "user_id": self.cashier_id,
        }


@dataclass
class World:
    base_url: str
    data_dir: Path
    private_key: Path
    a: Scope
    b: Scope
    product_id: str = ""
    barcode: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def only_b(self) -> set[str]:
        """Identifiers that must never reach a caller who works only at outlet A."""
        return {v for v in (self.b.outlet_id, self.b.register_id, self.b.sale_id, self.b.payment_id) if v}


def start(data_dir: Path) -> Iterator[World]:
    port = free_port()
    log = (data_dir / "server.log").open("wb")
    env = {**os.environ, "POS_LOG_LEVEL": "WARNING", "POS_ACCESS_TOKEN_TTL_SECONDS": "3600"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pos_embedded", "--port", str(port), "--data-dir", str(data_dir), "--no-demo"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (data_dir / "server.log").read_text()[-5000:]
            assert time.monotonic() < deadline, "the embedded POS did not start within 60 s"
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield seed(base_url, data_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json()


def seed(base_url: str, data_dir: Path) -> World:
    fields = dict(line.split(": ", 1) for line in (data_dir / "admin-credentials.txt").read_text().splitlines())
    with httpx.Client(base_url=base_url, timeout=30) as http:
        token = _ok(http.post("/api/identity/login", json={"email": fields["email"], "password": fields["password"]}))[
            "access_token"
        ]
        http.headers["Authorization"] = f"Bearer {token}"
        suffix = uuid.uuid4().hex[:6]
        a = Scope(_ok(http.post("/api/identity/outlets", json={"name": f"Outlet A {suffix}"}))["id"])
        b = Scope(_ok(http.post("/api/identity/outlets", json={"name": f"Outlet B {suffix}"}))["id"])
        world = World(base_url, data_dir, data_dir / "keys" / "jwt-private.pem", a, b)
        world.tokens["admin"] = token
        for scope, letter in ((a, "a"), (b, "b")):
            scope.register_id = _ok(http.post("/api/identity/registers", json={"outlet_id": scope.outlet_id, "name": "Till 1"}))[
                "id"
            ]
            for role in ("cashier", "manager"):
                user = _ok(
                    http.post(
                        "/api/identity/users",
                        json={
                            "email": f"{role}-{letter}-{suffix}@example.com",
                            "name": f"{role} {letter}",
                            "password": PASSWORD,
                            "role": role,
                            "outlets": [scope.outlet_id],
                            "pin": "2580",
                        },
                    )
                )
                setattr(scope, f"{role}_id", user["id"])
                world.tokens[f"{role}@{letter.upper()}"] = mint_token(
                    world.private_key, role, [scope.outlet_id], user_id=user["id"], email=user["email"], ttl_seconds=3600
                )
        product = _ok(
            http.post(
                "/api/catalog/products",
                json={
                    "sku": f"SEC-{suffix}",
                    "name": f"Security test mug {suffix}",
                    "price_minor": 500,
                    "tax_class": "standard",
                    "barcodes": [],
                },
            )
        )
        world.product_id = product["id"]
        world.barcode = (product.get("barcodes") or [""])[0]
        # Outlet B's own shelf price: one more thing of B's a caller at A must not see.
        http.put(f"/api/catalog/products/{world.product_id}/prices/{b.outlet_id}", json={"price_minor": 450})
        for scope in (a, b):
            _ok(
                http.post(
                    "/api/inventory/receipts",
                    json={
                        "outlet_id": scope.outlet_id,
                        "lines": [{"product_id": world.product_id, "qty": 50}],
                        "reference": "SEC",
                    },
                )
            )
        deadline = time.monotonic() + 20
        while http.get(f"/api/sales/prices/{world.product_id}").status_code != 200:
            assert time.monotonic() < deadline, "the price never reached sales"
            time.sleep(0.1)
        for scope, who in ((a, "cashier@A"), (b, "cashier@B")):
            sale_id = str(uuid.uuid4())
            sale = http.post(
                "/api/sales",
                json={
                    "id": sale_id,
                    "outlet_id": scope.outlet_id,
                    "lines": [{"product_id": world.product_id, "qty": 1}],
                    "tenders": [{"kind": "cash", "amount_minor": 1000}],
                },
                headers={"Authorization": f"Bearer {world.tokens[who]}"},
            )
            assert sale.status_code == 201, sale.text
            scope.sale_id = sale_id
            payments = _ok(http.get("/api/payments/payments", params={"sale_id": sale_id}))
            scope.payment_id = next(p["payment_id"] for p in payments if p["sale_id"] == sale_id)
    return world
