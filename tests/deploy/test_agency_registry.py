"""The agency registry (deploy/agencies.yaml): each agency once, with a role it may hold and, for a
prison, its facility; an id that can be a subject token and a NATS user name."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.agencies import AgencyRegistryError, load_agencies, parse_agencies
from shared.permissions import CASE_SCOPE
from tests.deploy.support import ROOT


def _one(**agency: object) -> dict[str, object]:
    return {"agencies": [agency]}


def test_the_example_registry_loads_and_every_prison_names_its_facility():
    agencies = load_agencies(ROOT / "deploy/agencies.yaml")

    assert len({a.id for a in agencies}) == len(agencies) >= 2
    for agency in agencies:
        assert (agency.facility is not None) == (CASE_SCOPE.get(agency.role) == "facility")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (_one(id="ngo.hope", role="civil_society"), "agency id"),
        (_one(id="ngo-*", role="civil_society"), "agency id"),
        (_one(id="NGO", role="civil_society"), "agency id"),
        (_one(id="ops", role="admin"), "not an agency's role"),
        (_one(id="ngo", role="chaplain"), "not an agency's role"),
        (_one(id="prison", role="prison_registry"), "needs `facility`"),
        (_one(id="ngo", role="civil_society", facility="Bamako"), "takes no `facility`"),
        (_one(id="ngo", role="civil_society", password="x"), "{id, role, facility?}"),
        ({"agencies": [{"id": "a", "role": "police"}, {"id": "a", "role": "judge"}]}, "twice"),
        ([{"id": "a", "role": "police"}], "a list under `agencies`"),
    ],
)
def test_a_malformed_registry_is_refused_with_the_reason(data, says):
    with pytest.raises(AgencyRegistryError) as refused:
        parse_agencies(data)

    assert says in str(refused.value)


def test_an_unreadable_registry_file_is_refused(tmp_path: Path):
    (tmp_path / "agencies.yaml").write_text("agencies: [unclosed")

    with pytest.raises(AgencyRegistryError):
        load_agencies(tmp_path / "agencies.yaml")
    with pytest.raises(AgencyRegistryError):
        load_agencies(tmp_path / "missing.yaml")
