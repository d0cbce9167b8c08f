"""Settings every service reads from `CASELINE_*` environment variables (pydantic-settings)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, Literal, Self
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.kit.ed25519 import public_key

__all__ = [
    "DEVELOPMENT_JWT_SECRET",
    "MIN_JWT_SECRET_BYTES",
    "DatabaseParts",
    "Settings",
    "parse_service_urls",
]

DEVELOPMENT_JWT_SECRET = "caseline-development-secret-change-me-0123456789"
MIN_JWT_SECRET_BYTES = 32


class DatabaseParts:
    """The parts of a `postgresql://user:password@host:port/dbname` URL."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"not a postgresql:// URL: {parts.scheme!r}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 5432
        self.user = unquote(parts.username or "postgres")
        self.password = unquote(parts.password or "")
        self.dbname = (parts.path or "/postgres").lstrip("/") or "postgres"

    def conninfo(self) -> str:
        """A libpq connection string for psycopg."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.dbname,
        )


def parse_service_urls(text: str) -> dict[str, str]:
    """`intake=http://intake:8001,judicial=…` as a mapping; ValueError when malformed."""
    urls: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, url = item.partition("=")
        name, url = name.strip(), url.strip().rstrip("/")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise ValueError(f"service URLs are name=http(s)://…, comma-separated: {item!r}")
        urls[name] = url
    return urls


class Settings(BaseSettings):
    """Configuration of one Caseline process; every field is `CASELINE_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="CASELINE_", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, description="postgresql:// URL; unset: `caseline up` starts an embedded one"
    )
    nats_url: str | None = Field(
        default=None, description="nats:// URL (cluster: several, comma-separated); unset: embedded"
    )
    stream: str = Field(default="CASELINE", description="the JetStream stream of all events")
    subject_prefix: str = Field(
        default="", description="prepended to every subject (isolates test runs on one server)"
    )
    duplicate_window_seconds: int = Field(default=120, ge=120)
    stream_replicas: int = Field(
        default=1, ge=1, le=5, description="copies of the stream in a NATS cluster (3 there)"
    )
    delivery_stream_max_bytes: int = Field(
        default=10 * 1024**3,
        ge=1024**2,
        description="the ledger: the agencies' deliveries stream's size limit (NATS reserves it)",
    )
    jwt_secret: SecretStr | None = Field(default=None, description="HS256 key for tokens")
    jwt_public_key: str | None = Field(
        default=None,
        description="the key people's tokens are verified with: an identity provider's PEM key"
        " (EdDSA or RS256), or base64 of a raw Ed25519 public key (the token issuer's below)",
    )
    token_signing_key: SecretStr | None = Field(
        default=None,
        description="`caseline token`: the issuer's Ed25519 private key (base64 of 32 raw bytes,"
        " or PEM) it signs people's tokens with; given to no service (they hold its public key)",
    )
    jwt_max_ttl_minutes: float = Field(
        default=720,
        gt=0,
        le=7 * 24 * 60,
        description="production: tokens living longer (`exp` - `iat`) than this are refused",
    )
    jwt_issuer: str = "caseline"
    jwt_audience: str = "caseline"
    jurisdiction: str = "mali"
    default_language: Literal["en", "fr", "ar"] = Field(
        default="en",
        description="the language of problem details when a request's Accept-Language names none"
        " of fr, ar, en (API clients; people's browsers and the console always send one)",
    )
    jurisdiction_dir: str | None = Field(
        default=None,
        description="directory of the <jurisdiction>.yaml rules; default: deploy/jurisdictions",
    )
    migrations_dir: str | None = Field(
        default=None,
        description="a folder of <service>/NNNN_name.sql migrations; default: services/*/migrations",
    )
    deadline_check_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="judicial: how often legal deadlines are checked"
    )
    require_purpose: bool = Field(
        default=False,
        description="reads must state a purpose (Caseline-Purpose); default on in production",
    )
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, description="HTTP port; default per service")
    pool_size: int = Field(default=8, ge=1, le=100)
    relay_batch: int = Field(default=1024, ge=1, le=5000)
    relay_poll_seconds: float = Field(default=0.2, gt=0, le=10)
    startup_wait_seconds: float = Field(
        default=300.0,
        ge=0,
        le=3600,
        description="how long a starting service waits for PostgreSQL before it gives up",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="base64 of 32 bytes wrapping every per-case data key (crypto-shredding)",
    )
    master_key_previous: SecretStr | None = Field(
        default=None,
        description="during a master-key rotation: the previous master keys (base64, comma-"
        "separated), still accepted to unwrap until `caseline keys rotate-master` has re-wrapped",
    )
    ledger_signing_key: SecretStr | None = Field(
        default=None, description="Ed25519 key (PEM, or base64 of the raw 32 bytes) for checkpoints"
    )
    ledger_retired_keys: str = Field(
        default="",
        description="the ledger's retired checkpoint keys (base64 raw Ed25519 public keys, comma-"
        "separated): checkpoints they signed verify up to the last tree size their handover names;"
        " `base64@N` gives it for a key lost before it could hand over",
    )
    service_signing_key: SecretStr | None = Field(
        default=None,
        description="this service's Ed25519 key (PEM, or base64 of the raw 32 bytes) signing what"
        " it publishes; unset outside production: a development key derived from its name",
    )
    service_public_keys: str = Field(
        default="",
        description='every service\'s public keys, current and retired, as JSON {key_id: {"service":'
        ' …, "public_key": base64}}; outside production the development keys are added',
    )
    ledger_checkpoint_every: int = Field(
        default=1000, ge=1, description="the ledger signs a checkpoint after this many new entries"
    )
    ledger_checkpoint_seconds: float = Field(
        default=10.0, gt=0, description="… or this long after the last one, when entries are new"
    )
    ledger_witness_keys: str = Field(
        default="", description="witnesses allowed to cosign: name=base64-public-key,…"
    )
    ledger_url: str | None = Field(
        default=None, description="the ledger's base URL, asked by reconciliation; unset: none runs"
    )
    service_urls: str = Field(
        default="",
        description="the ledger: the other services' base URLs, name=url,… (their read audits)",
    )
    console_origin: str = Field(
        default="",
        description="intake, judicial: the console's origin (scheme://host:port) whose pages may"
        " call them from a browser (CORS, that origin only); unset: none",
    )
    console_service_urls: str = Field(
        default="",
        description="the ledger: intake's and judicial's base URLs as the console's browsers reach"
        " them, name=url,…; unset: `service_urls`",
    )
    audit_anchor_seconds: float = Field(
        default=60.0,
        ge=0,
        le=86_400,
        description="the ledger: how often it anchors every service's read-audit head; 0: never",
    )
    stats_min_cell: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="the ledger's statistics: counts under this are suppressed (disclosure control)",
    )
    agencies_file: str | None = Field(
        default=None,
        description="the ledger: the agency registry it delivers to over NATS"
        " (deploy/agencies.yaml); unset: no agency receives anything",
    )
    webhook_retry_base_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="the ledger: a webhook's first retry delay"
    )
    webhook_retry_max_seconds: float = Field(
        default=3600.0, gt=0, le=86_400, description="the ledger: the longest delay between retries"
    )
    webhook_park_after_seconds: float = Field(
        default=93_600.0,
        gt=0,
        description="the ledger: a webhook failing this long is parked (production: ≥ 24 hours)",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="the ledger: one webhook request's time limit"
    )
    webhook_secret_overlap_seconds: float = Field(
        default=86_400.0,
        ge=0,
        description="the ledger: how long a rotated webhook secret still signs",
    )
    reconcile_seconds: float = Field(
        default=60.0, ge=0, le=86_400, description="how often a service reconciles; 0: never"
    )
    reconcile_margin_seconds: float = Field(
        default=30.0, ge=0, le=86_400, description="younger missing events are in flight, not lost"
    )
    follow_up_interval_days: int = Field(
        default=30, ge=1, le=3650, description="programmes: how often a released person is seen"
    )
    assessment_due_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="days after admission the first risk assessment is due",
    )
    clock_offset_seconds: float = Field(
        default=0.0, description="development and tests only: shifts the service clock"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = Field(
        default="json", description="json: one JSON object a line (structlog); console: for people"
    )
    tracing: Literal["off", "console", "otlp"] = Field(
        default="off",
        description="OpenTelemetry spans; otlp sends to OTEL_EXPORTER_OTLP_ENDPOINT (extra `otlp`)",
    )

    @model_validator(mode="before")
    @classmethod
    def _purpose_required_in_production(cls, data: Any) -> Any:
        """Production requires a purpose on every read unless it is explicitly turned off."""
        if (
            isinstance(data, Mapping)
            and data.get("environment") == "production"
            and data.get("require_purpose") is None
        ):
            return {**data, "require_purpose": True}
        return data

    @field_validator("jwt_public_key")
    @classmethod
    def _a_pem_or_a_raw_ed25519_key(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().startswith("-----BEGIN"):
            public_key(value, "CASELINE_JWT_PUBLIC_KEY")
        return value

    @field_validator("service_urls")
    @classmethod
    def _service_urls_are_name_url_pairs(cls, value: str) -> str:
        parse_service_urls(value)
        return value

    @field_validator("console_service_urls")
    @classmethod
    def _console_urls_are_name_url_pairs(cls, value: str) -> str:
        parse_service_urls(value)
        return value

    @field_validator("console_origin")
    @classmethod
    def _console_origin_is_one_origin(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if value and (
            parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query
        ):
            raise ValueError("the console's origin is scheme://host[:port], one origin, not *")
        return value

    def service_url_map(self) -> dict[str, str]:
        """`service_urls` as name → base URL (without a trailing slash)."""
        return parse_service_urls(self.service_urls)

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            self._check_production_jwt()
            if self.webhook_park_after_seconds < 86_400:
                raise ValueError("production retries webhooks for 24 hours at least")
            if self.clock_offset_seconds:
                raise ValueError("production refuses CASELINE_CLOCK_OFFSET_SECONDS")
            if self.master_key is None:
                raise ValueError("production needs CASELINE_MASTER_KEY")
        return self

    def _check_production_jwt(self) -> None:
        if self.jwt_secret is None and self.jwt_public_key is None:
            raise ValueError("production needs CASELINE_JWT_SECRET or CASELINE_JWT_PUBLIC_KEY")
        if self.jwt_secret is None:
            return
        secret = self.jwt_secret.get_secret_value()
        if secret == DEVELOPMENT_JWT_SECRET:
            raise ValueError("production refuses the development JWT secret")
        # RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
        if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(f"production refuses a JWT secret under {MIN_JWT_SECRET_BYTES} bytes")

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with `update` applied; what is derived from the fields is derived again (a
        copy with another `database_url` must not keep this one's `database`)."""
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop("database", None)
        return copy

    @cached_property
    def database(self) -> DatabaseParts:
        """The database URL's parts; raises when no database is configured."""
        if not self.database_url:
            raise RuntimeError("CASELINE_DATABASE_URL is not set")
        return DatabaseParts(self.database_url)

    def jwt_key(self) -> str:
        """The HS256 secret in force (the development one outside production)."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return DEVELOPMENT_JWT_SECRET
