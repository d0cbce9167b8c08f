"""`GET /stats` over a real ledger: a population of signed entries with known answers, each figure
and each suppressed cell checked, the CSV and XLSX exports holding the same numbers, and the CLI.

The population (Africa/Bamako, UTC all year), asked by month from February to May 2025:
- Bamako: 12 arrests in March (cases A1-A12, admitted the next day; A11 later sealed, A12's personal
  data erased), and one more arrest, voided;
  6 deadline breaches on 20 March (A1-A6), A1-A5 ended by a renewal 2, 4, 6, 8, 10 days later;
  first hearings on 15 May for A7-A12, arrested 1-6 March (75 down to 70 days);
  6 assessments due on 15 April (A1-A6), 5 submitted before, one after;
  7 enrolments in April, 5 completions in May (a sixth voided).
- Koulikoro: 8 arrests in February (R1-R8, persons P1-P8), all released on 10 March 2025;
  P1-P5 arrested again on other cases in September 2025 (a confirmed link names them), P6 in
  April 2026 (after 12 months), P7's link voided; 2 arrests in March (K1, K2); 5 follow-ups in May.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import openpyxl
import pytest

from caseline.cli import main
from services.ledger.application import LedgerApplication
from services.ledger.disclosure import bridges
from services.ledger.service import create_app as ledger_app
from services.ledger.store import Appendable
from shared.events import Envelope
from tests.support import auth, running, serving, token_for
from tests.support.bus import signed_document

BAMAKO = "Maison Centrale d'Arrêt de Bamako"
KOULIKORO = "Prison de Koulikoro"
QUERY = {"period": "month", "from": "2025-02-01", "to": "2025-05-31"}
PURPOSE = {"Caseline-Purpose": "quarterly M&E report"}


def _at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


class Population:
    """Signed entries appended to the ledger in the order they are made."""

    def __init__(self) -> None:
        self.items: list[Appendable] = []
        self.cases: list[str] = []

    def case(self) -> str:
        case_id = str(uuid4())
        self.cases.append(case_id)
        return case_id

    def add(self, case_id: str, name: str, when: datetime, /, **data: Any) -> Appendable:
        service = {
            "ArrestRecorded": "intake", "DetaineeAdmitted": "intake", "DetaineeReleased": "intake",
            "PersonLinkConfirmed": "intake", "IntakeEntryVoided": "intake",
            "DetentionDeadlineBreached": "judicial", "PreTrialDetentionRenewed": "judicial",
            "HearingHeld": "judicial", "AssessmentDue": "assessment",
            "AssessmentSubmitted": "assessment", "ParticipantEnrolled": "programmes",
            "ParticipantCompleted": "programmes", "ProgrammesEntryVoided": "programmes",
            "FollowUpRecorded": "programmes", "CaseSealed": "judicial",
            "PersonalDataErased": "intake",
        }[name]  # fmt: skip
        event = name.removeprefix("Intake").removeprefix("Programmes")
        env = Envelope(
            id=uuid4(), source=f"/caseline/{service}", type=f"caseline.{service}.{event}.v1",
            subject=case_id, time=when, dataschema=f"urn:caseline:schema:{service}.{event}.v1",
            recordedtime=when, actor="tester", agency=f"{service}-agency", data=data,
        )  # fmt: skip
        item = Appendable(str(env.id), case_id, env.type, when, when, signed_document(env))
        self.items.append(item)
        return item

    def void(self, case_id: str, item: Appendable, name: str, at: datetime) -> None:
        self.add(case_id, name, at, voided_event_id=item.event_id, reason="recorded in error")

    def arrest(self, at: datetime, person_id: str | None = None) -> str:
        case_id = self.case()
        data: dict[str, Any] = {
            "person": {"full_name": "[encrypted]", "sex": "male", "nationality": "[encrypted]"},
            "arrested_at": at.isoformat(), "location": "Sévaré", "arresting_unit": "Brigade",
            "grounds": "[encrypted]", "returning_foreign_fighter": False,
        }  # fmt: skip
        if person_id is not None:
            data["person_id"] = person_id
        self.add(case_id, "ArrestRecorded", at, **data)
        return case_id

    def admit(self, case_id: str, facility: str, at: datetime) -> None:
        self.add(
            case_id, "DetaineeAdmitted", at,
            facility=facility, admitted_at=at.isoformat(), warrant_ref="MD-1",
        )  # fmt: skip


def _population() -> Population:
    world = Population()
    bamako = []
    for n in range(12):
        arrested = _at(f"2025-03-{n - 5:02d}") if n >= 6 else _at(f"2025-03-{n + 7:02d}")
        case_id = world.arrest(arrested)
        world.admit(case_id, BAMAKO, arrested + timedelta(days=1))
        bamako.append(case_id)
    a = bamako  # a[0..5] arrested 7-12 March, a[6..11] arrested 1-6 March
    # Sealed and erased cases are counted like the others (and named nowhere).
    world.add(a[10], "CaseSealed", _at("2025-05-20"), reason="[encrypted]", sealed_by="Judge")
    world.add(a[11], "PersonalDataErased", _at("2025-05-21"), reason="court order")
    voided = world.case()
    mistaken = world.add(voided, "ArrestRecorded", _at("2025-03-15"), arrested_at="2025-03-15")
    world.admit(voided, BAMAKO, _at("2025-03-16"))
    world.void(voided, mistaken, "IntakeEntryVoided", _at("2025-03-17"))
    for n in range(6):
        expired = _at("2025-03-20", 0)
        world.add(a[n], "DetentionDeadlineBreached", expired, deadline_kind="pre_trial",
                  expired_at=expired.isoformat(), detected_at=expired.isoformat())  # fmt: skip
        if n < 5:
            renewed = expired + timedelta(days=2 * (n + 1))
            world.add(a[n], "PreTrialDetentionRenewed", renewed, renewed_by="Judge",
                      renewed_at=renewed.isoformat(), expires_at="2025-07-01T00:00:00Z")  # fmt: skip
    for n in range(6, 12):
        world.add(a[n], "HearingHeld", _at("2025-05-15"), hearing_id=str(uuid4()),
                  held_at="2025-05-15T10:00:00Z", outcome_summary="[encrypted]")  # fmt: skip
    for n in range(6):
        world.add(a[n], "AssessmentDue", _at("2025-03-20"), assessment_kind="initial",
                  due_by="2025-04-15T00:00:00Z", trigger="admission")  # fmt: skip
        submitted = _at("2025-04-10") if n < 5 else _at("2025-04-20")
        world.add(a[n], "AssessmentSubmitted", submitted, assessment_id=str(uuid4()),
                  overall_risk="low", rationale="[encrypted]",
                  next_review_by="2025-10-01T00:00:00Z")  # fmt: skip
    programme = str(uuid4())
    for n in range(7):
        world.add(a[n], "ParticipantEnrolled", _at("2025-04-02"), programme_id=programme,
                  enrolled_at="2025-04-02T10:00:00Z")  # fmt: skip
    for n in range(6):
        done = world.add(a[n], "ParticipantCompleted", _at("2025-05-20"),
                         programme_id=programme, completed_at="2025-05-20T10:00:00Z")  # fmt: skip
        if n == 5:
            world.void(a[n], done, "ProgrammesEntryVoided", _at("2025-05-21"))
    persons = [str(uuid4()) for _ in range(8)]
    released = []
    for n, person in enumerate(persons):
        case_id = world.arrest(_at(f"2025-02-{n + 3:02d}"), person_id=person)
        world.admit(case_id, KOULIKORO, _at(f"2025-02-{n + 4:02d}"))
        world.add(case_id, "DetaineeReleased", _at("2025-03-10"), released_at="2025-03-10T10:00:00Z",
                  release_order_id=str(uuid4()))  # fmt: skip
        released.append(case_id)
    for n in range(7):
        again = _at("2025-09-01") if n != 5 else _at("2026-04-01")
        case_id = world.arrest(again, person_id=str(uuid4()))
        link = world.add(case_id, "PersonLinkConfirmed", again + timedelta(days=2),
                         link_id=str(uuid4()), kind="link", person_id=persons[n],
                         confirmed_by="registrar-2")  # fmt: skip
        if n == 6:
            world.void(case_id, link, "IntakeEntryVoided", again + timedelta(days=3))
    for n in range(2):
        case_id = world.arrest(_at(f"2025-03-{n + 20:02d}"))
        world.admit(case_id, KOULIKORO, _at(f"2025-03-{n + 21:02d}"))
    for n in range(5):
        world.add(released[n], "FollowUpRecorded", _at("2025-05-05"), at="2025-05-05T10:00:00Z",
                  status="on_track", note="[encrypted]")  # fmt: skip
    return world


@pytest.fixture
def population(settings) -> Population:
    world = _population()
    ledger = LedgerApplication(settings)
    ledger.store.append(world.items)
    ledger.close()
    return world


def _cell(stats: dict[str, Any], name: str, facility: str | None, period: str | None) -> Any:
    indicator = next(i for i in stats["indicators"] if i["name"] == name)
    cell = next(c for c in indicator["cells"] if (c["facility"], c["period"]) == (facility, period))
    if indicator["kind"] == "duration":
        return "suppressed" if cell["suppressed"] else (cell["median"], cell["p90"])
    return "suppressed" if cell["suppressed"] else cell["value"]


def _get(settings, client, **params: str):
    return client.get(
        "/stats", params={**QUERY, **params}, headers={**auth(settings, "auditor"), **PURPOSE}
    )


def test_each_figure_of_a_known_population_and_each_suppressed_cell(settings, population):
    with running(ledger_app(settings)) as client:
        stats = _get(settings, client).json()

    def cell(name: str, facility: str | None, period: str | None) -> Any:
        return _cell(stats, name, facility, period)

    assert stats["periods"] == ["2025-02", "2025-03", "2025-04", "2025-05"]
    assert stats["facilities"] == [BAMAKO, KOULIKORO]
    assert (stats["jurisdiction"], stats["time_zone"], stats["min_cell"]) == (
        "mali", "Africa/Bamako", 5,
    )  # fmt: skip
    # Arrests: the voided one is not counted; Koulikoro's 2 in March are suppressed, and with
    # them a complement in its row (February) and in the March column (the month's total).
    assert cell("arrests", BAMAKO, "2025-03") == 12
    assert cell("arrests", KOULIKORO, "2025-03") == "suppressed"
    assert cell("arrests", KOULIKORO, "2025-02") == "suppressed"
    assert cell("arrests", None, "2025-03") == "suppressed"
    assert cell("arrests", None, "2025-02") == "suppressed"
    assert cell("arrests", KOULIKORO, None) == 10
    assert cell("arrests", None, None) == 22
    assert cell("deadline_breaches", BAMAKO, "2025-03") == 6
    assert cell("breaches_ended", BAMAKO, "2025-03") == 5
    assert cell("breach_days", BAMAKO, "2025-03") == (6.0, 10.0)
    assert cell("trials", BAMAKO, "2025-05") == 6
    assert cell("arrest_to_trial_days", BAMAKO, "2025-05") == (72.5, 75.0)
    assert cell("arrest_to_trial_days", None, None) == (72.5, 75.0)
    assert cell("assessments_due", BAMAKO, "2025-04") == 6
    assert cell("assessments_on_time", BAMAKO, "2025-04") == 5
    assert cell("enrolments", BAMAKO, "2025-04") == 7
    assert cell("completions", BAMAKO, "2025-05") == 5
    assert cell("releases", KOULIKORO, "2025-03") == 8
    assert cell("follow_ups", KOULIKORO, "2025-05") == 5
    assert cell("releases_followed_12m", KOULIKORO, "2025-03") == 8
    assert cell("rearrested_within_12m", KOULIKORO, "2025-03") == 5
    # Released in March 2025: 24 and 36 months have not elapsed (the clock is in December 2026).
    assert cell("releases_followed_24m", None, None) == 0
    assert cell("rearrested_within_36m", None, None) == 0


def test_the_answer_names_no_case_and_no_person(settings, population):
    with running(ledger_app(settings)) as client:
        body = _get(settings, client).text

    assert not [case_id for case_id in population.cases if case_id in body]
    assert "case_id" not in body


def test_a_small_group_hides_its_durations_with_its_count(settings):
    world = Population()
    for n in range(3):
        case_id = world.arrest(_at(f"2025-03-{n + 1:02d}"))
        world.admit(case_id, BAMAKO, _at(f"2025-03-{n + 2:02d}"))
        world.add(case_id, "HearingHeld", _at("2025-04-01"), hearing_id=str(uuid4()),
                  held_at="2025-04-01T10:00:00Z", outcome_summary="[encrypted]")  # fmt: skip
    ledger = LedgerApplication(settings)
    ledger.store.append(world.items)
    ledger.close()

    with running(ledger_app(settings)) as client:
        stats = _get(settings, client).json()

    assert _cell(stats, "trials", BAMAKO, "2025-04") == "suppressed"
    assert _cell(stats, "arrest_to_trial_days", BAMAKO, "2025-04") == "suppressed"
    assert _cell(stats, "arrest_to_trial_days", None, None) == "suppressed"


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _number(value: Any) -> Any:
    """A cell as a number where it is one (a spreadsheet reads 6.0 back as 6), else as text."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)


def test_the_csv_and_xlsx_exports_hold_the_same_numbers_as_the_json(settings, population):
    with running(ledger_app(settings)) as client:
        stats = _get(settings, client).json()
        as_csv = _get(settings, client, format="csv")
        as_xlsx = _get(settings, client, format="xlsx")
        in_english = _get(settings, client, format="csv", lang="en")

    rows = _csv_rows(as_csv.content)
    book = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))
    sheet = [[_number(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert rows[0] == ["Indicateur", "Établissement", "Période", "Nombre", "Médiane (jours)",
                       "90e centile (jours)"]  # fmt: skip
    assert _csv_rows(in_english.content)[0][:3] == ["Indicator", "Facility", "Period"]
    assert sheet == [[_number(v) for v in row] for row in rows]
    counts = {(r[0], r[1], r[2]): r[3] for r in rows[1:] if r[3]}
    assert counts[("Arrestations", BAMAKO, "2025-03")] == "12"
    assert counts[("Arrestations", KOULIKORO, "2025-03")] == "n.d."
    assert counts[("Arrestations", "Tous les établissements", "Toutes les périodes")] == "22"
    published = sum(1 for i in stats["indicators"] for c in i["cells"] if i["kind"] == "count")
    assert len([r for r in rows[1:] if r[3]]) == published


def test_only_auditors_and_admins_read_statistics(settings, population):
    with running(ledger_app(settings)) as client:
        answers = {
            role: client.get("/stats", params=QUERY, headers=auth(settings, role)).status_code
            for role in ("auditor", "admin", "judge", "police", "prison_director")
        }

    assert answers == {"auditor": 200, "admin": 200, "judge": 403, "police": 403,
                       "prison_director": 403}  # fmt: skip


def test_a_span_that_ends_before_it_begins_is_refused(settings):
    with running(ledger_app(settings)) as client:
        answer = _get(settings, client, **{"from": "2025-06-01", "to": "2025-05-01"})

    assert answer.status_code == 422


def test_the_cli_prints_the_figures_and_saves_the_exports(settings, population, tmp_path, capsys):
    token = token_for(settings, "auditor")
    with serving(ledger_app(settings)) as url:
        args = ["stats", "--ledger", url, "--token", token, "--from", "2025-02-01",
                "--to", "2025-05-31"]  # fmt: skip
        with pytest.raises(SystemExit) as printed:
            main(args)
        out = capsys.readouterr().out
        with pytest.raises(SystemExit):
            main([*args, "--lang", "ar"])
        arabic = capsys.readouterr().out
        with pytest.raises(SystemExit) as saved:
            main([*args, "--format", "xlsx", "--headers", "en", "-o", str(tmp_path / "s.xlsx")])

    book = openpyxl.load_workbook(tmp_path / "s.xlsx")
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert (printed.value.code, saved.value.code) == (0, 0)
    assert f"{BAMAKO} / 2025-03" in out
    assert "Arrests:" in out.splitlines()
    # The CLI's language: the indicators' names and the words around the figures.
    assert "الاعتقالات:" in arabic.splitlines()
    assert f"{BAMAKO} / 2025-03" in arabic and "Arrests" not in arabic
    assert rows[0][:3] == ("Indicator", "Facility", "Period")
    assert ("Arrests", BAMAKO, "2025-03", 12, None, None) in rows


@pytest.mark.parametrize("bad", ["0", "1700000000", "2025-5-1", "2025-05-01T00:00:00Z"])
def test_a_date_not_written_as_a_local_date_is_refused(settings, bad):
    with running(ledger_app(settings)) as client:
        answer = _get(settings, client, to=bad)

    assert answer.status_code == 422


def test_periods_are_cut_at_local_midnight_of_the_jurisdiction(settings_factory):
    niger = settings_factory(jurisdiction="niger")  # Africa/Niamey, UTC+1
    world = Population()
    for n in range(5):
        case_id = world.arrest(_at("2025-03-31", 23) + timedelta(minutes=n))
        world.admit(case_id, "Prison civile de Niamey", _at("2025-04-02"))
    ledger = LedgerApplication(niger)
    ledger.store.append(world.items)
    ledger.close()

    with running(ledger_app(niger)) as client:
        stats = _get(niger, client).json()

    assert stats["time_zone"] == "Africa/Niamey"
    assert _cell(stats, "arrests", None, "2025-03") == 0
    assert _cell(stats, "arrests", None, "2025-04") == 5


def test_entries_appended_after_a_first_answer_are_in_the_next(settings):
    first, later = Population(), Population()
    for n in range(5):
        first.arrest(_at(f"2025-03-{n + 1:02d}"))
        later.arrest(_at(f"2025-03-{n + 10:02d}"))
    ledger = LedgerApplication(settings)
    ledger.store.append(first.items)

    before = ledger.statistics("month", date(2025, 3, 1), date(2025, 3, 31))
    ledger.store.append(later.items)
    after = ledger.statistics("month", date(2025, 3, 1), date(2025, 3, 31))
    ledger.close()

    assert _cell(before, "arrests", None, "2025-03") == 5
    assert _cell(after, "arrests", None, "2025-03") == 10


def test_persons_arrested_counts_each_person_once_links_applied(settings):
    """15 persons arrested in March 2025 at Bamako, released on 1 April, arrested again in June
    on new cases admitted at Koulikoro: P0-P4 linked to their first case, P5-P9 linked by a link
    voided since, P10-P14 linked then unlinked. 30 arrests of 25 persons."""
    world = Population()
    persons = [str(uuid4()) for _ in range(15)]
    for n, person in enumerate(persons):
        case_id = world.arrest(_at(f"2025-03-{n + 1:02d}"), person_id=person)
        world.admit(case_id, BAMAKO, _at(f"2025-03-{n + 2:02d}"))
        world.add(case_id, "DetaineeReleased", _at("2025-04-01"), released_at="2025-04-01T10:00:00Z",
                  release_order_id=str(uuid4()))  # fmt: skip
    for n, person in enumerate(persons):
        again, own = _at(f"2025-06-{n + 1:02d}"), str(uuid4())
        case_id = world.arrest(again, person_id=own)
        world.admit(case_id, KOULIKORO, again + timedelta(days=1))
        link = world.add(case_id, "PersonLinkConfirmed", again + timedelta(days=2),
                         link_id=str(uuid4()), kind="link", person_id=person,
                         confirmed_by="registrar-2")  # fmt: skip
        if 5 <= n < 10:
            world.void(case_id, link, "IntakeEntryVoided", again + timedelta(days=3))
        if n >= 10:
            world.add(case_id, "PersonLinkConfirmed", again + timedelta(days=4),
                      link_id=str(uuid4()), kind="unlink", person_id=own,
                      confirmed_by="registrar-2")  # fmt: skip
    ledger = LedgerApplication(settings)
    ledger.store.append(world.items)
    ledger.close()

    year = {"period": "quarter", "from": "2025-01-01", "to": "2025-12-31"}
    with running(ledger_app(settings)) as client:
        whole = _get(settings, client, **year).json()
        from_april = _get(settings, client, **{**year, "from": "2025-04-01"}).json()
        as_csv = _get(settings, client, **year, format="csv", lang="en")

    assert _cell(whole, "arrests", None, None) == 30
    assert _cell(whole, "persons_arrested", None, None) == 25
    assert _cell(whole, "persons_arrested", BAMAKO, "2025-Q1") == 15
    # A person arrested again is counted at their first arrest in the span only.
    assert _cell(whole, "persons_arrested", KOULIKORO, "2025-Q2") == 10
    assert _cell(whole, "persons_arrested", None, "2025-Q2") == 10
    assert _cell(whole, "rearrested_within_12m", BAMAKO, "2025-Q2") == 5
    # Asked from April, the June arrests are the first of the span: every person once.
    assert _cell(from_april, "persons_arrested", KOULIKORO, "2025-Q2") == 15
    assert _cell(from_april, "persons_arrested", None, None) == 15
    rows = {(r[0], r[1], r[2]): r[3] for r in _csv_rows(as_csv.content)[1:]}
    assert rows[("Persons arrested (each counted once)", "All facilities", "All periods")] == "25"


def test_a_persons_count_under_the_threshold_is_suppressed_with_a_complement(settings):
    world = Population()
    person = str(uuid4())
    for n in range(6):
        case_id = world.arrest(_at(f"2025-03-{n + 1:02d}"), person_id=str(uuid4()))
        world.admit(case_id, BAMAKO, _at(f"2025-03-{n + 2:02d}"))
    for n in range(3):  # one person arrested three times: 3 arrests, 1 person
        case_id = world.arrest(_at(f"2025-04-{n + 1:02d}"), person_id=str(uuid4()))
        world.add(case_id, "PersonLinkConfirmed", _at(f"2025-04-{n + 2:02d}"),
                  link_id=str(uuid4()), kind="link", person_id=person,
                  confirmed_by="registrar-2")  # fmt: skip
        world.admit(case_id, KOULIKORO, _at(f"2025-04-{n + 2:02d}"))
    ledger = LedgerApplication(settings)
    ledger.store.append(world.items)
    ledger.close()

    with running(ledger_app(settings)) as client:
        stats = _get(settings, client).json()

    assert _cell(stats, "arrests", BAMAKO, "2025-03") == 6
    assert _cell(stats, "persons_arrested", BAMAKO, "2025-03") == 6
    assert _cell(stats, "persons_arrested", KOULIKORO, "2025-04") == "suppressed"
    # Its row total equals it; complements hide it from the column and grand totals too.
    assert _cell(stats, "persons_arrested", KOULIKORO, None) == "suppressed"
    rows, columns = [*stats["facilities"], None], [*stats["periods"], None]
    [persons] = [i for i in stats["indicators"] if i["name"] == "persons_arrested"]
    hidden = {
        (rows.index(c["facility"]), columns.index(c["period"]))
        for c in persons["cells"]
        if c["suppressed"]
    }
    assert len(hidden) > 2
    assert bridges(hidden) == set()  # no suppressed cell follows from the published ones
