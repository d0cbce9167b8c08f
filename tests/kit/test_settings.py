"""Settings: what is derived from others follows them in a copy; production refuses a weak
token secret at start."""

from __future__ import annotations

import pytest

from shared.kit.settings import Settings


def test_a_copy_with_another_database_url_connects_to_that_database():
    settings = Settings(environment="test", database_url="postgresql://u:p@127.0.0.1:5432/first")
    assert settings.database.dbname == "first"  # computed, and kept

    other = settings.model_copy(update={"database_url": "postgresql://u:p@127.0.0.1:5432/second"})

    assert other.database.dbname == "second"
    assert settings.database.dbname == "first"


def _production(secret: str) -> Settings:
    return Settings(
        environment="production",
        jwt_secret=secret,
        master_key="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    )


def test_production_refuses_an_hs256_secret_under_32_bytes():
    with pytest.raises(ValueError, match="under 32 bytes"):
        _production("s" * 31)


def test_production_counts_the_secret_in_bytes_not_characters():
    with pytest.raises(ValueError, match="under 32 bytes"):
        _production("é" * 15)  # 15 characters, 30 bytes
    assert _production("é" * 16).jwt_key() == "é" * 16


def test_production_starts_with_a_32_byte_secret():
    assert _production("s" * 32).jwt_key() == "s" * 32


def test_production_refuses_a_short_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("CASELINE_ENVIRONMENT", "production")
    monkeypatch.setenv("CASELINE_JWT_SECRET", "short-but-not-the-default")
    monkeypatch.setenv("CASELINE_MASTER_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")

    with pytest.raises(ValueError, match="under 32 bytes"):
        Settings()


def test_the_maximum_token_lifetime_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("CASELINE_JWT_MAX_TTL_MINUTES", "90")

    assert Settings().jwt_max_ttl_minutes == 90
