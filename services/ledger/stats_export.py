"""The statistics as files an M&E officer opens: CSV (UTF-8 with a byte order mark, so that a
spreadsheet shows the accents) and XLSX, with French headers unless English is asked for.

One row per indicator, facility and period, margins included; a suppressed figure is shown as the
marker, the same for every suppressed cell (a primary one is not told from a complement).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from services.ledger.statistics import NO_FACILITY
from shared.kit.i18n import N_

__all__ = ["LABELS", "Lang", "about", "rows", "to_csv", "to_xlsx"]

Lang = Literal["fr", "en"]
# The indicators' English names are messages of the catalogue too (`caseline stats` prints them
# in the CLI's language, Arabic included).

LABELS: dict[Lang, dict[str, str]] = {
    "fr": {
        "indicator": "Indicateur",
        "facility": "Établissement",
        "period": "Période",
        "value": "Nombre",
        "median": "Médiane (jours)",
        "p90": "90e centile (jours)",
        "all_facilities": "Tous les établissements",
        "all_periods": "Toutes les périodes",
        "(not admitted)": "(non écroué)",
        "suppressed": "n.d.",
        "arrests": "Arrestations",
        "persons_arrested": "Personnes arrêtées (chacune comptée une fois)",
        "deadline_breaches": "Dépassements de délai légal (garde à vue, détention provisoire)",
        "breaches_ended": "Dépassements levés (renouvellement, jugement ou libération)",
        "breach_days": "Durée des dépassements levés",
        "trials": "Premiers jugements (audience tenue ou verdict)",
        "arrest_to_trial_days": "Délai de l'arrestation au jugement",
        "assessments_due": "Évaluations dues",
        "assessments_on_time": "Évaluations remises dans le délai",
        "enrolments": "Inscriptions aux programmes",
        "completions": "Programmes achevés",
        "releases": "Libérations",
        "follow_ups": "Suivis réalisés",
        "releases_followed_12m": "Libérations suivies 12 mois",
        "releases_followed_24m": "Libérations suivies 24 mois",
        "releases_followed_36m": "Libérations suivies 36 mois",
        "rearrested_within_12m": "Nouvelle arrestation dans les 12 mois",
        "rearrested_within_24m": "Nouvelle arrestation dans les 24 mois",
        "rearrested_within_36m": "Nouvelle arrestation dans les 36 mois",
        "about": "À propos",
        "jurisdiction": "Juridiction",
        "time_zone": "Fuseau horaire",
        "from": "Du",
        "to": "Au",
        "as_of": "Arrêté au",
        "min_cell": "Seuil de diffusion (effectifs inférieurs non diffusés)",
        "sheet": "Statistiques",
    },
    "en": {
        "indicator": "Indicator",
        "facility": "Facility",
        "period": "Period",
        "value": "Count",
        "median": "Median (days)",
        "p90": "90th percentile (days)",
        "all_facilities": "All facilities",
        "all_periods": "All periods",
        "(not admitted)": "(not admitted)",
        "suppressed": "n/a",
        "arrests": N_("Arrests", "stats"),
        "persons_arrested": N_("Persons arrested (each counted once)", "stats"),
        "deadline_breaches": N_(
            "Legal time limits breached (police custody, pre-trial detention)", "stats"
        ),
        "breaches_ended": N_("Breaches ended (renewal, verdict or release)", "stats"),
        "breach_days": N_("Duration of ended breaches", "stats"),
        "trials": N_("First trials (hearing held or verdict)", "stats"),
        "arrest_to_trial_days": N_("Time from arrest to trial", "stats"),
        "assessments_due": N_("Assessments due", "stats"),
        "assessments_on_time": N_("Assessments submitted on time", "stats"),
        "enrolments": N_("Programme enrolments", "stats"),
        "completions": N_("Programme completions", "stats"),
        "releases": N_("Releases", "stats"),
        "follow_ups": N_("Follow-ups done", "stats"),
        "releases_followed_12m": N_("Releases followed for 12 months", "stats"),
        "releases_followed_24m": N_("Releases followed for 24 months", "stats"),
        "releases_followed_36m": N_("Releases followed for 36 months", "stats"),
        "rearrested_within_12m": N_("Re-arrested within 12 months", "stats"),
        "rearrested_within_24m": N_("Re-arrested within 24 months", "stats"),
        "rearrested_within_36m": N_("Re-arrested within 36 months", "stats"),
        "about": "About",
        "jurisdiction": "Jurisdiction",
        "time_zone": "Time zone",
        "from": "From",
        "to": "To",
        "as_of": "As of",
        "min_cell": "Disclosure threshold (smaller counts not published)",
        "sheet": "Statistics",
    },
}


def rows(stats: dict[str, Any], lang: Lang) -> list[list[Any]]:
    """The header and one row per cell: indicator, facility, period, count, median, p90."""
    text = LABELS[lang]
    out: list[list[Any]] = [
        [text[k] for k in ("indicator", "facility", "period", "value", "median", "p90")]
    ]
    for indicator in stats["indicators"]:
        for cell in indicator["cells"]:
            facility = cell["facility"]
            if facility is None:
                facility = text["all_facilities"]
            elif facility == NO_FACILITY:
                facility = text[NO_FACILITY]
            period = text["all_periods"] if cell["period"] is None else cell["period"]
            row: list[Any] = [text[indicator["name"]], facility, period]
            if indicator["kind"] == "count":
                row += [_shown(cell["value"], cell["suppressed"], text), "", ""]
            else:
                row += ["", *(_shown(cell[k], cell["suppressed"], text) for k in ("median", "p90"))]
            out.append(row)
    return out


def _shown(value: Any, suppressed: bool, text: dict[str, str]) -> Any:
    if suppressed:
        return text["suppressed"]
    return "" if value is None else value


def about(stats: dict[str, Any], lang: Lang) -> list[list[Any]]:
    """What the figures are: jurisdiction, dates (local), threshold."""
    text = LABELS[lang]
    as_of = datetime.fromisoformat(stats["as_of"]).astimezone(ZoneInfo(stats["time_zone"]))
    return [
        [text["jurisdiction"], stats["jurisdiction"]],
        [text["time_zone"], stats["time_zone"]],
        [text["from"], stats["from"]],
        [text["to"], stats["to"]],
        [text["as_of"], as_of.strftime("%Y-%m-%d %H:%M")],
        [text["min_cell"], stats["min_cell"]],
    ]


def to_csv(stats: dict[str, Any], lang: Lang) -> bytes:
    """The rows as CSV, UTF-8 with a byte order mark, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows(stats, lang))
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(stats: dict[str, Any], lang: Lang) -> bytes:
    """The rows as a workbook: the figures on the first sheet, what they are on the second."""
    from openpyxl import Workbook

    text = LABELS[lang]
    book = Workbook()
    sheet = book.active or book.create_sheet()
    sheet.title = text["sheet"]
    for row in rows(stats, lang):
        sheet.append(row)
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEF", (60, 28, 20, 10, 16, 20), strict=True):
        sheet.column_dimensions[column].width = width
    notes = book.create_sheet(text["about"])
    for row in about(stats, lang):
        notes.append(row)
    notes.column_dimensions["A"].width = 56
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
