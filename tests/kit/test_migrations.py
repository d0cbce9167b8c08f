"""The kit's migration runner over real PostgreSQL: versions, checksums, the advisory lock, the
baseline of each service (the same schema its start-up code makes) and its adoption."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import psycopg
import pytest

from caseline.replay import application_class
from shared.kit.migrations import MigrationError, Migrator, migrations_folder, read_migrations
from shared.kit.settings import Settings

SERVICES = ("intake", "judicial", "assessment", "programmes")


def _rows(settings: Settings, query: str, params: tuple[object, ...] = ()) -> list[tuple]:
    with psycopg.connect(settings.database.conninfo()) as conn:
        return conn.execute(query, params).fetchall()


def _shape(settings: Settings, schema: str) -> set[tuple]:
    """Every column (with type, nullability, default), index and trigger of a schema."""
    columns = _rows(
        settings,
        "SELECT table_name, column_name, data_type, is_nullable, column_default"
        " FROM information_schema.columns WHERE table_schema = %s",
        (schema,),
    )
    indexes = _rows(
        settings, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s", (schema,)
    )
    triggers = _rows(
        settings,
        "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT tgisinternal",
        (schema,),
    )
    return {*columns, *indexes, *triggers} - {r for r in columns if r[0] == "schema_migrations"}


def _folder(tmp_path: Path, service: str, *extra: tuple[str, str]) -> Path:
    folder = tmp_path / service
    shutil.copytree(migrations_folder(Settings(), service), folder)
    for name, text in extra:
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize("service", SERVICES)
def test_the_baseline_makes_the_schema_the_start_up_code_makes(settings, service):
    Migrator(settings, service).run()
    migrated = _shape(settings, service)

    app = application_class(service)(settings)
    app.shutdown()

    assert _shape(settings, service) == migrated
    assert ("case_access", "case_id", "text", "NO", None) in migrated


def test_the_ledger_baseline_makes_the_schema_its_start_up_code_makes(settings):
    from services.ledger.application import LedgerApplication
    from shared.kit.access import AuditLog
    from shared.kit.clock import Clock

    Migrator(settings, "ledger").run()
    migrated = _shape(settings, "ledger")

    LedgerApplication(settings).close()
    audit = AuditLog(settings, "ledger", Clock().now)
    audit.create()
    audit.close()

    assert _shape(settings, "ledger") == migrated


def test_a_fresh_database_gets_the_baseline_once_with_its_checksum(settings):
    first, _ = Migrator(settings, "judicial").run()
    second, _ = Migrator(settings, "judicial").run()

    rows = _rows(
        settings, "SELECT version, name, checksum, adopted FROM judicial.schema_migrations"
    )
    baseline = read_migrations(migrations_folder(settings, "judicial"))[0]
    assert first == ["0001_baseline"]
    assert second == []
    assert rows == [(1, "baseline", baseline.checksum, False)]


def test_a_database_of_the_release_before_versions_is_adopted_not_rerun(settings):
    application_class("judicial")(settings).shutdown()  # the start-up of that release

    done, _ = Migrator(settings, "judicial").run()

    assert done == ["0001_baseline (adopted)"]
    assert _rows(settings, "SELECT version, adopted FROM judicial.schema_migrations") == [(1, True)]


def test_a_database_newer_than_the_code_is_refused(settings, tmp_path):
    later = _folder(tmp_path, "judicial", ("0002_later.sql", "SELECT 1;"))
    Migrator(settings, "judicial", later).run()

    with pytest.raises(MigrationError, match=r"version 2 .* newer than this release knows"):
        Migrator(settings, "judicial").run()


def test_an_applied_migration_whose_file_changed_is_refused(settings, tmp_path):
    folder = _folder(
        tmp_path,
        "judicial",
        ("0002_note.sql", "ALTER TABLE judicial.idempotency ADD COLUMN note text;"),
    )
    Migrator(settings, "judicial", folder).run()
    (folder / "0002_note.sql").write_text("ALTER TABLE judicial.idempotency ADD COLUMN note2 text;")

    with pytest.raises(MigrationError, match=r"0002_note .* checksum changed"):
        Migrator(settings, "judicial", folder).run()


def test_a_failing_migration_changes_nothing_and_is_not_recorded(settings, tmp_path):
    folder = _folder(
        tmp_path,
        "judicial",
        ("0002_half.sql", "ALTER TABLE judicial.idempotency ADD COLUMN note text;\nSELECT 1/0;"),
    )

    with pytest.raises(psycopg.errors.DivisionByZero):
        Migrator(settings, "judicial", folder).run()

    columns = _rows(
        settings,
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'intake' AND table_name = 'idempotency' AND column_name = 'note'",
    )
    assert columns == []
    assert _rows(settings, "SELECT version FROM judicial.schema_migrations") == [(1,)]


def test_concurrent_starters_apply_each_migration_once(settings, tmp_path):
    folder = _folder(
        tmp_path,
        "judicial",
        ("0002_note.sql", "ALTER TABLE judicial.idempotency ADD COLUMN note text;"),
    )
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            results.append(Migrator(settings, "judicial", folder).run()[0])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sorted(results) == [[], [], [], ["0001_baseline", "0002_note"]]
    assert _rows(settings, "SELECT version FROM judicial.schema_migrations ORDER BY 1") == [
        (1,),
        (2,),
    ]


def test_a_rebuild_without_the_service_is_refused(settings, tmp_path):
    folder = _folder(
        tmp_path, "intake", ("0006_rebuild.sql", "-- caseline: rebuild-view case_register\n")
    )

    with pytest.raises(MigrationError, match="rebuilds views"):
        Migrator(settings, "intake", folder).run()


def test_caseline_migrate_shows_pending_then_applies_then_shows_applied(settings):
    from caseline.migrate import migrate

    before = migrate(settings, ["intake", "ledger"], status=True)
    ran = migrate(settings, ["intake", "ledger"])
    after = migrate(settings, ["intake", "ledger"], status=True)

    assert [line.split()[-1] for line in before] == ["pending"] * 10
    assert ran == [
        "intake      0001_baseline, 0002_person_registry, 0003_registry_counts,"
        " 0004_person_index_covering, 0005_person_kinds",
        "ledger      0001_baseline, 0002_key_handovers, 0003_delivery_parking, 0004_webhooks,"
        " 0005_key_handover_roots",
    ]
    assert [line.split()[3] for line in after] == ["applied"] * 10
