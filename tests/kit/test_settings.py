"""Settings derived from other settings follow them in a copy."""

from __future__ import annotations

from shared.kit.settings import Settings


def test_a_copy_with_another_database_url_connects_to_that_database():
    settings = Settings(environment="test", database_url="postgresql://u:p@127.0.0.1:5432/first")
    assert settings.database.dbname == "first"  # computed, and kept

    other = settings.model_copy(update={"database_url": "postgresql://u:p@127.0.0.1:5432/second"})

    assert other.database.dbname == "second"
    assert settings.database.dbname == "first"
