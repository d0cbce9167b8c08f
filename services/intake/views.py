"""Read models of intake: the case register behind `GET /cases`, pending erasures, and the
person registry's blind index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar
from uuid import UUID

from shared.events.personal import ENCRYPTED, ERASED
from shared.kit.keystore import SealedColumn, master_key
from shared.kit.names import Birth, Identity, index_key, parse_birth, person_digests
from shared.kit.store import Op, View

_NAME_AAD = b"caseline:intake.case_register.name"

__all__ = ["CaseRegister", "PendingErasures", "PersonIndex", "identity_of"]


class CaseRegister(View):
    """Which cases exist, whom they concern and where the person is now.

    The name is kept encrypted under the case's key, like every personal field: no plaintext of
    it reaches the database, and erasing the case's key erases it here too.
    """

    sealed_name = SealedColumn(_NAME_AAD)

    def bind(self, app: Any) -> None:
        self.sealed_name = SealedColumn(_NAME_AAD)
        self.sealed_name.bind(app.keys)

    def name(self, case_id: Any, key_id: str | None, ciphertext: bytes | None) -> str:
        """The person's name, or `[erased]` once the case's key is gone."""
        return self.sealed_name.open(case_id, key_id, ciphertext)

    tables: ClassVar[tuple[str, ...]] = ("case_register",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.case_register ("
        " case_id uuid PRIMARY KEY, name_kid text, name_ct bytea, arrested_at timestamptz NOT NULL,"
        " returning_foreign_fighter boolean NOT NULL, status text NOT NULL, facility text,"
        " version int NOT NULL, updated_at timestamptz NOT NULL)",
        "CREATE INDEX IF NOT EXISTS case_register_arrested ON {schema}.case_register"
        " (arrested_at DESC, case_id)",
        "CREATE INDEX IF NOT EXISTS case_register_facility ON {schema}.case_register (facility)",
    )

    def apply(self, event: Any) -> list[Op]:
        name = type(event).__name__
        meta = getattr(event, "meta", None)
        if meta is None:
            # Internal events (what intake learnt from judicial) still move the case's version.
            return [_touch(event)]
        if name == "PersonalDataErased":
            return [
                (
                    "UPDATE {schema}.case_register SET name_kid = NULL, name_ct = NULL, version = %s,"
                    " updated_at = %s WHERE case_id = %s",
                    (event.originator_version, meta.recorded_at, event.originator_id),
                )
            ]
        if name == "EntryVoided":
            return [_restate(event, event.register)]
        if name == "ArrestRecorded":
            data = event.data
            return [
                (
                    "INSERT INTO {schema}.case_register (case_id, name_kid, name_ct, arrested_at,"
                    " returning_foreign_fighter, status, facility, version, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s, 'arrested', NULL, %s, %s)"
                    " ON CONFLICT (case_id) DO NOTHING",
                    (
                        event.originator_id,
                        *self.sealed_name.seal(event.originator_id, data.person.full_name),
                        data.arrested_at,
                        data.returning_foreign_fighter,
                        event.originator_version,
                        meta.recorded_at,
                    ),
                )
            ]
        status, facility = _STATUS.get(name, (None, None))
        if status is None:
            return [_touch(event)]
        if facility == "facility":
            facility_value = event.data.facility
        elif facility == "to_facility":
            facility_value = event.data.to_facility
        else:
            facility_value = None
        keep = facility is None
        return [
            (
                "UPDATE {schema}.case_register SET status = %s,"
                " facility = CASE WHEN %s THEN facility ELSE %s END,"
                " version = %s, updated_at = %s WHERE case_id = %s",
                (
                    status,
                    keep,
                    facility_value,
                    event.originator_version,
                    meta.recorded_at,
                    event.originator_id,
                ),
            )
        ]


class PendingErasures(View):
    """Erasures on record whose case key may not be destroyed yet.

    A row is written in the transaction that records `PersonalDataErased`, and deleted once the
    key is destroyed: an erasure is never on record without its key destruction following, even
    after a crash between the two (the application finishes the rows on start). Replaying the
    views writes the rows again; destroying a destroyed key changes nothing.
    """

    tables: ClassVar[tuple[str, ...]] = ("pending_erasures",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.pending_erasures ("
        " case_id uuid PRIMARY KEY, recorded_at timestamptz NOT NULL)",
    )

    def apply(self, event: Any) -> list[Op]:
        if type(event).__name__ != "PersonalDataErased":
            return []
        return [
            (
                "INSERT INTO {schema}.pending_erasures (case_id, recorded_at) VALUES (%s, %s)"
                " ON CONFLICT (case_id) DO NOTHING",
                (event.originator_id, event.meta.recorded_at),
            )
        ]


# Set operations (hashed), never a probe of the transition table per row: a statement of many
# rows (a replay's, a bulk load's) costs in proportion to its rows.
_NEW_PAIRS = "SELECT DISTINCT person_id, digest FROM new_rows"
_OLD_PAIRS = "SELECT DISTINCT person_id, digest FROM old_rows"
# What a search reads of each person besides the query's digests it holds: how many distinct
# digests of each kind (name tokens, father's, mother's, birth years) the person has.
_KINDS = (("names", "ns:"), ("fathers", "fs:"), ("mothers", "ms:"), ("years", "by:"))
_KIND_COLUMNS = ", ".join(column for column, _ in _KINDS)
_KIND_COUNTS = ", ".join(
    f"count(*) FILTER (WHERE left(digest, 3) = '{prefix}') AS {column}" for column, prefix in _KINDS
)
_OF_A_KIND = "left(digest, 3) IN (" + ", ".join(f"'{prefix}'" for _, prefix in _KINDS) + ")"
_REGISTRY_ADD = (
    # The (person, digest) pairs of the statement's new rows that no other row held before:
    # a holder more for each digest, a digest more of its kind for each person.
    f"WITH added AS ({_NEW_PAIRS} EXCEPT (SELECT p.person_id, p.digest"
    f"  FROM {{schema}}.person_index p JOIN ({_NEW_PAIRS}) n USING (person_id, digest)"
    "  EXCEPT ALL SELECT person_id, digest FROM new_rows) {also}),"
    " holders AS (INSERT INTO {schema}.digest_holders AS h (digest, persons)"
    "  SELECT digest, count(*) FROM added GROUP BY digest"
    "  ON CONFLICT (digest) DO UPDATE SET persons = h.persons + excluded.persons)"
    f" INSERT INTO {{schema}}.person_kinds AS k (person_id, {_KIND_COLUMNS})"
    f" SELECT person_id, {_KIND_COUNTS} FROM added WHERE {_OF_A_KIND} GROUP BY person_id"
    " ON CONFLICT (person_id) DO UPDATE SET "
    + ", ".join(f"{c} = k.{c} + excluded.{c}" for c, _ in _KINDS)
    + ";"
)
_REGISTRY_GONE = (
    # The (person, digest) pairs of the statement's old rows that no row holds any more.
    f"WITH gone AS ({_OLD_PAIRS} EXCEPT SELECT p.person_id, p.digest FROM {{schema}}.person_index p"
    f"  JOIN ({_OLD_PAIRS}) o USING (person_id, digest)),"
    " holders AS (UPDATE {schema}.digest_holders h SET persons = h.persons - g.persons"
    "  FROM (SELECT digest, count(*) AS persons FROM gone GROUP BY digest) g"
    "  WHERE h.digest = g.digest)"
    " UPDATE {schema}.person_kinds k SET "
    + ", ".join(f"{c} = k.{c} - g.{c}" for c, _ in _KINDS)
    + f" FROM (SELECT person_id, {_KIND_COUNTS} FROM gone WHERE {_OF_A_KIND}"
    "  GROUP BY person_id) g WHERE k.person_id = g.person_id;"
    " DELETE FROM {schema}.digest_holders"
    " WHERE persons <= 0 AND digest IN (SELECT digest FROM old_rows);"
    " DELETE FROM {schema}.person_kinds WHERE "
    + " AND ".join(f"{c} <= 0" for c, _ in _KINDS)
    + " AND person_id IN (SELECT person_id FROM old_rows);"
)
_PERSONS_ADD = (
    "(SELECT count(*) FROM (SELECT person_id FROM new_rows"
    " EXCEPT (SELECT c.person_id FROM {schema}.case_persons c"
    "  JOIN (SELECT DISTINCT person_id FROM new_rows) n USING (person_id)"
    "  EXCEPT ALL SELECT person_id FROM new_rows) {also}) added)"
)
_PERSONS_GONE = (
    "(SELECT count(*) FROM (SELECT person_id FROM old_rows"
    " EXCEPT SELECT c.person_id FROM {schema}.case_persons c"
    "  JOIN (SELECT DISTINCT person_id FROM old_rows) o USING (person_id)) gone)"
)


def _function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {{schema}}.{name}() RETURNS trigger LANGUAGE plpgsql"
        f" AS $$ DECLARE delta bigint; BEGIN {body} RETURN NULL; END $$"
    )


def _trigger(name: str, table: str, operation: str, function: str) -> str:
    tables = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows"}
    referencing = tables.get(operation, "OLD TABLE AS old_rows NEW TABLE AS new_rows")
    return (
        f"CREATE OR REPLACE TRIGGER {name} AFTER {operation} ON {{schema}}.{table}"
        f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.{function}()"
    )


def _size_change(delta: str) -> str:
    return (
        f"delta := {delta}; IF delta <> 0 THEN"
        " INSERT INTO {schema}.registry_size AS r (one, persons) VALUES (true, delta)"
        " ON CONFLICT (one) DO UPDATE SET persons = r.persons + excluded.persons; END IF;"
    )


# An update keeps what its old rows held: not new.
_KEPT_PAIR = "EXCEPT SELECT person_id, digest FROM old_rows"
_KEPT_PERSON = "EXCEPT SELECT person_id FROM old_rows"

REGISTRY_COUNTS: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS {schema}.digest_holders ("
    " digest text PRIMARY KEY, persons integer NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {schema}.registry_size ("
    " one boolean PRIMARY KEY DEFAULT true CHECK (one), persons bigint NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {schema}.person_kinds (person_id uuid PRIMARY KEY, "
    + ", ".join(f"{c} integer NOT NULL" for c, _ in _KINDS)
    + ")",
    _function("person_index_added", _REGISTRY_ADD.replace("{also}", "")),
    _function("person_index_removed", _REGISTRY_GONE),
    _function(
        "person_index_moved",
        _REGISTRY_GONE + _REGISTRY_ADD.replace("{also}", _KEPT_PAIR),
    ),
    _function("case_persons_added", _size_change(_PERSONS_ADD.replace("{also}", ""))),
    _function("case_persons_removed", _size_change("-" + _PERSONS_GONE)),
    _function(
        "case_persons_moved",
        _size_change(_PERSONS_ADD.replace("{also}", _KEPT_PERSON) + " - " + _PERSONS_GONE),
    ),
    _trigger("person_index_added", "person_index", "INSERT", "person_index_added"),
    _trigger("person_index_removed", "person_index", "DELETE", "person_index_removed"),
    _trigger("person_index_moved", "person_index", "UPDATE", "person_index_moved"),
    _trigger("case_persons_added", "case_persons", "INSERT", "case_persons_added"),
    _trigger("case_persons_removed", "case_persons", "DELETE", "case_persons_removed"),
    _trigger("case_persons_moved", "case_persons", "UPDATE", "case_persons_moved"),
)
"""The registry's counts and the statement-level triggers that keep them (on transition tables:
one run per statement, an arrest's digests together)."""


class PersonIndex(View):
    """The person registry: which person each case names, and the blind index of identities.

    `person_index` holds one row per (case, digest) of the case's identity at arrest, with the
    person the case names now: a person's digests are the union of its cases' rows. The digests
    are keyed HMACs (`shared.kit.names`), no name in them; they are written in the transaction of
    the arrest, move with a confirmed link, and are deleted with the case's key (erasure).

    What a search weighs its digests by is kept counted as the rows change, by PostgreSQL
    triggers whatever the statement (an arrest, a link, an erasure, a replay's truncation):
    `registry_size` the persons the registry knows, `digest_holders` how many persons hold each
    digest. Counting them at each search read the whole registry and every holder of the
    query's digests (bench/RESULTS.md).
    """

    tables: ClassVar[tuple[str, ...]] = (
        "person_index",
        "case_persons",
        "digest_holders",
        "registry_size",
        "person_kinds",
    )
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.case_persons ("
        " case_id uuid PRIMARY KEY, person_id uuid NOT NULL, own_person_id uuid NOT NULL)",
        "CREATE INDEX IF NOT EXISTS case_persons_person ON {schema}.case_persons (person_id)",
        "CREATE TABLE IF NOT EXISTS {schema}.person_index ("
        " case_id uuid NOT NULL, digest text NOT NULL, person_id uuid NOT NULL,"
        " PRIMARY KEY (case_id, digest))",
        # Covering both ways: a search gathers persons by digest and scores them by their
        # digests, each from the index alone (0004_person_index_covering.sql).
        "CREATE INDEX IF NOT EXISTS person_index_digest_person"
        " ON {schema}.person_index (digest, person_id)",
        "CREATE INDEX IF NOT EXISTS person_index_person_digest"
        " ON {schema}.person_index (person_id, digest)",
        *REGISTRY_COUNTS,
    )

    key = b""

    def bind(self, app: Any) -> None:
        # The index key lives with the master key, never beside the index (docs/persons.md).
        self.key = index_key(master_key(app.settings))

    def apply(self, event: Any) -> list[Op]:
        name = type(event).__name__
        if getattr(event, "meta", None) is None:
            return []
        if name == "ArrestRecorded":
            return self._arrest(event.originator_id, event.data)
        if name == "PersonLinkConfirmed":
            params = (event.data.person_id, event.originator_id)
            return [
                ("UPDATE {schema}.case_persons SET person_id = %s WHERE case_id = %s", params),
                ("UPDATE {schema}.person_index SET person_id = %s WHERE case_id = %s", params),
            ]
        if name == "PersonalDataErased":
            return [
                ("DELETE FROM {schema}.person_index WHERE case_id = %s", (event.originator_id,))
            ]
        return []

    def _arrest(self, case_id: UUID, data: Any) -> list[Op]:
        person_id = data.person_id or case_id
        ops: list[Op] = [
            (
                "INSERT INTO {schema}.case_persons (case_id, person_id, own_person_id)"
                " VALUES (%s, %s, %s) ON CONFLICT (case_id) DO NOTHING",
                (case_id, person_id, person_id),
            )
        ]
        identity = identity_of(data.person)
        if identity is not None:
            digests = sorted(person_digests(identity, self.key))
            ops.append(
                (
                    "INSERT INTO {schema}.person_index (case_id, digest, person_id)"
                    " SELECT %s, d, %s FROM unnest(%s::text[]) AS d ON CONFLICT DO NOTHING",
                    (case_id, person_id, digests),
                )
            )
        return ops

    def cases_of(self, app: Any, persons: Sequence[UUID]) -> list[tuple[Any, ...]]:
        """(case_id, person_id) of every case that names one of `persons`."""
        return app.fetch(
            "SELECT case_id, person_id FROM {schema}.case_persons WHERE person_id = ANY(%s)"
            " ORDER BY case_id",
            (list(persons),),
        )


def identity_of(person: Any) -> Identity | None:
    """What identifies an arrested person to the blind index (None once sealed or erased)."""
    if person.full_name in (ENCRYPTED, ERASED):
        return None
    birth: Birth | None = None
    if person.date_of_birth is not None:
        born = person.date_of_birth
        birth = (
            Birth(born.year, estimated=True)
            if person.date_of_birth_estimated
            else parse_birth(born)
        )
    return Identity(
        name=person.full_name,
        birth=birth,
        father=getattr(person, "father_name", None),
        mother=getattr(person, "mother_name", None),
        aliases=tuple(a for a in person.aliases if a not in (ENCRYPTED, ERASED)),
    )


_STATUS: dict[str, tuple[str | None, str | None]] = {
    "CustodyStarted": ("in_custody", None),
    "DetaineeAdmitted": ("admitted", "facility"),
    "DetaineeTransferred": ("transferred", "to_facility"),
    "DetaineeReleased": ("released", None),
}


def _touch(event: Any) -> Op:
    meta = getattr(event, "meta", None)
    return (
        "UPDATE {schema}.case_register SET version = %s, updated_at = %s WHERE case_id = %s",
        (
            event.originator_version,
            meta.recorded_at if meta else event.timestamp,
            event.originator_id,
        ),
    )


def _restate(event: Any, register: dict[str, Any]) -> Op:
    # A voiding recomputes where the person is: the aggregate folded it, the event carries it.
    return (
        "UPDATE {schema}.case_register SET status = %s, facility = %s, version = %s,"
        " updated_at = %s WHERE case_id = %s",
        (
            register["status"],
            register["facility"],
            event.originator_version,
            event.meta.recorded_at,
            event.originator_id,
        ),
    )
