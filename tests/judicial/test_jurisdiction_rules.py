"""Legal limits are data: `deploy/jurisdictions/<code>.yaml`, each figure citing its source; a
malformed rules file stops start-up with a message naming the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.intake.service import create_app as intake_app
from services.judicial.service import create_app as judicial_app
from shared.kit.jurisdiction import JurisdictionError, default_directory, load_jurisdiction
from shared.kit.settings import Settings
from tests.support import running

MALI = default_directory() / "mali.yaml"


def rules_in(tmp_path: Path, text: str, code: str = "mali") -> Settings:
    (tmp_path / f"{code}.yaml").write_text(text, encoding="utf-8")
    return Settings(jurisdiction=code, jurisdiction_dir=str(tmp_path))


@pytest.mark.parametrize("code", ["mali", "niger"])
def test_each_jurisdiction_cites_a_source_for_every_limit(code):
    rules = load_jurisdiction(Settings(jurisdiction=code))

    sources = [r.source for r in rules.custody.regimes.values()]
    sources += [c.source for c in rules.pre_trial.classes.values()] + [rules.appeal.source]
    assert all(len(s) > 3 for s in sources)
    assert rules.review_required is True


def test_mali_is_the_default_with_terrorism_custody_of_48_hours():
    rules = load_jurisdiction(Settings())

    terrorism = rules.custody.regimes[rules.custody.default_regime]
    assert (rules.code, terrorism.initial_hours, terrorism.extension_hours) == ("mali", 48, 48)
    assert rules.pre_trial.classes["crime"].max_total_days == 1095


def test_the_disputed_renewal_count_is_marked_uncertain_in_the_file():
    text = MALI.read_text(encoding="utf-8")

    assert all(word in text for word in ("UNCERTAIN", "deux fois", "trois fois", "2024"))


def test_a_figure_of_the_wrong_type_names_its_key(tmp_path):
    settings = rules_in(
        tmp_path,
        MALI.read_text(encoding="utf-8").replace("initial_hours: 48\n", 'initial_hours: "48"\n', 1),
    )

    with pytest.raises(JurisdictionError, match=r"custody\.regimes\.ordinary\.initial_hours"):
        load_jurisdiction(settings)


def test_an_unknown_key_is_named(tmp_path):
    text = MALI.read_text(encoding="utf-8").replace(
        "max_total_days: 1095", "max_total_days: 1095\n      maximum_years: 3"
    )
    settings = rules_in(tmp_path, text)

    with pytest.raises(
        JurisdictionError, match=r"pre_trial\.classes\.crime\.maximum_years: unknown key"
    ):
        load_jurisdiction(settings)


def test_a_missing_key_is_named(tmp_path):
    text = MALI.read_text(encoding="utf-8").replace("  period_days: 60\n", "")
    settings = rules_in(tmp_path, text)

    with pytest.raises(JurisdictionError, match=r"appeal\.period_days: missing key"):
        load_jurisdiction(settings)


def test_a_default_that_is_not_defined_is_refused(tmp_path):
    text = MALI.read_text(encoding="utf-8").replace("default_class: crime", "default_class: felony")
    settings = rules_in(tmp_path, text)

    with pytest.raises(JurisdictionError, match=r"pre_trial: .*default_class 'felony'"):
        load_jurisdiction(settings)


def test_a_missing_file_and_bad_yaml_are_refused(tmp_path):
    with pytest.raises(JurisdictionError, match="missing"):
        load_jurisdiction(Settings(jurisdiction="chad", jurisdiction_dir=str(tmp_path)))
    with pytest.raises(JurisdictionError, match="not readable YAML"):
        load_jurisdiction(rules_in(tmp_path, "custody: [unclosed", code="chad"))


@pytest.mark.parametrize("create_app", [intake_app, judicial_app], ids=["intake", "judicial"])
def test_a_malformed_rules_file_stops_start_up_naming_the_key(
    settings_factory, tmp_path, create_app
):
    (tmp_path / "mali.yaml").write_text(
        MALI.read_text(encoding="utf-8").replace("max_extensions: 2", "max_extensions: two"),
        encoding="utf-8",
    )
    settings = settings_factory(jurisdiction_dir=str(tmp_path))

    with (
        pytest.raises(JurisdictionError, match=r"custody\.regimes\.terrorism\.max_extensions"),
        running(create_app(settings)),
    ):
        pass


def test_each_jurisdiction_names_its_time_zone_and_dates_are_local_there():
    from datetime import UTC, date, datetime

    bamako = load_jurisdiction(Settings(jurisdiction="mali"))
    niamey = load_jurisdiction(Settings(jurisdiction="niger"))
    late_evening_utc = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)

    assert (bamako.time_zone, niamey.time_zone) == ("Africa/Bamako", "Africa/Niamey")
    # Bamako keeps UTC all year; Niamey is an hour ahead: 23:30 UTC is already the next day there.
    assert bamako.local_date(late_evening_utc) == date(2026, 3, 1)
    assert niamey.local_date(late_evening_utc) == date(2026, 3, 2)
    with pytest.raises(ValueError, match="naive"):
        niamey.local_date(datetime(2026, 3, 1, 23, 30))  # noqa: DTZ001 (naive on purpose)


def test_an_unknown_time_zone_is_named(tmp_path):
    text = MALI.read_text(encoding="utf-8").replace("Africa/Bamako", "Africa/Timbuktu_Old")
    settings = rules_in(tmp_path, text)

    with pytest.raises(JurisdictionError, match=r"time_zone: .*not an IANA time zone"):
        load_jurisdiction(settings)
