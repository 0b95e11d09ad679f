"""Settings read from the environment (prefix POS_); `.env.example` documents them."""

from __future__ import annotations

import os
import socket
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import MetaData

from pos_platform.db import Database

# The development placeholder of POS_INTERNAL_API_TOKEN (refused in production).
DEV_INTERNAL_TOKEN = "development-internal-token"


class ServiceSettings(BaseSettings):
    """What every service needs. Services subclass it to add their own fields."""

    model_config = SettingsConfigDict(env_prefix="POS_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = ""
    bus: Literal["rabbitmq", "inprocess"] = "inprocess"
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Public half of identity's signing key: every service verifies tokens locally.
    jwt_public_key_file: str = "var/keys/jwt-public.pem"
    jwt_audience: str = "pos"
    jwt_issuer: str = "pos-identity"
    log_level: str = "INFO"
    # Threads that run the service's synchronous endpoints (anyio's default is 40).
    worker_threads: int = 32
    # Connections kept open; default: enough for every thread that may hold one at once
    # (the endpoint threads, the consumer's four, the relay and background jobs), so no
    # request ever waits for a connection to be opened and closed for it.
    db_pool_size: int | None = None
    # TLS to the database: off (loopback, a private network) or verify (required, the
    # server's certificate checked against db_tls_ca, or the system CA bundle if empty).
    db_tls: Literal["off", "verify"] = "off"
    db_tls_ca: str = ""
    relay_batch_size: int = 200
    relay_idle_interval: float = 0.25
    # Seconds the relay waits after a commit wakes it, so the next few share a batch.
    relay_linger: float = 0.005
    consumer_prefetch: int = 100
    # After this many failed deliveries a message goes to the service's dead-letter queue.
    delivery_limit: int = 5
    # OpenTelemetry (ADR 0070): an OTLP/HTTP collector's base URL (e.g.
    # http://otel-collector:4318); empty: no tracing. The share of new traces kept.
    otlp_endpoint: str = ""
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    instance_id: str = f"{socket.gethostname()}-{os.getpid()}"

    def database_url_for(self, service: str) -> str:
        return self.database_url or f"sqlite:///var/embedded/{service}.db"

    @property
    def pool_size(self) -> int:
        return self.db_pool_size or self.worker_threads + 12

    def open_database(self, service: str, metadata: MetaData) -> Database:
        """The service's database as these settings describe it (URL, pool, TLS)."""
        return Database(self.database_url_for(service), metadata, service, self.pool_size, tls=self.db_tls, tls_ca=self.db_tls_ca)


class ServiceTokenSettings(ServiceSettings):
    """For services that take calls from other POS services with no user at hand (sales'
    reconciler): the shared secret sent as X-POS-Service-Token, the same in sales,
    inventory and payments; refused in production while it is the placeholder."""

    internal_api_token: str = DEV_INTERNAL_TOKEN

    @model_validator(mode="after")
    def _refuse_placeholder_token(self) -> ServiceTokenSettings:
        if self.environment == "production" and self.internal_api_token in ("", DEV_INTERNAL_TOKEN):
            raise ValueError("POS_INTERNAL_API_TOKEN must be set to a secret in production")
        return self
