"""The roster data: 195 NCBs, consistent organisations, safe ids, editable as data."""

from __future__ import annotations

from collections import Counter
from importlib import resources

import pytest

from protocol import ArgumentError, Roster, RosterError, default_roster
from protocol.messages.iso3166 import ALPHA2
from protocol.network.roster import REGIONS, SYNTHETIC_PREFIX, is_valid_bureau_id, synthetic_roster


def data_text(name: str) -> str:
    return (resources.files("protocol.network") / "data" / name).read_text(encoding="utf-8")


def test_default_roster_has_195_ncbs_and_the_hubs() -> None:
    roster = default_roster()
    assert len(roster.ncbs()) == 195
    assert all(b.id in ALPHA2 for b in roster.ncbs())
    assert {b.id for b in roster.by_role("general-secretariat")} == {"gs"}
    assert roster.get("gs").city == "Lyon"
    assert {b.id for b in roster.by_role("regional-bureau")} == {
        "rb-abidjan",
        "rb-harare",
        "rb-nairobi",
        "rb-yaounde",
        "rb-buenos-aires",
        "rb-san-salvador",
        "lo-bangkok",
    }
    assert {b.id for b in roster.by_role("regional-organisation")} == {
        "europol",
        "afripol",
        "ameripol",
        "aseanapol",
        "gccpol",
    }
    assert roster.by_role("command-centre")[0].id == "ccc"


def test_every_ncb_has_a_region_and_at_most_one_regional_bureau() -> None:
    roster = default_roster()
    for ncb in roster.ncbs():
        assert ncb.region in REGIONS
        serving = [rb.id for rb in roster.by_role("regional-bureau") if ncb.id in rb.serves]
        assert len(serving) <= 1, (ncb.id, serving)
    # every African NCB is served by one of the four African regional bureaus
    assert all(roster.regional_bureau_of(n.id) is not None for n in roster.in_region("africa"))
    assert roster.regional_bureau_of("KE").id == "rb-nairobi"  # type: ignore[union-attr]
    assert roster.regional_bureau_of("FR") is None


def test_a_196th_member_is_one_line_of_data() -> None:
    csv_text = data_text("ncbs.csv") + "TV,Tuvalu,asia-south-pacific,Funafuti,-8.52,179.20\n"
    roster = Roster.from_text(csv_text, data_text("organisations.json"))
    assert len(roster.ncbs()) == 196
    assert roster.get("TV").city == "Funafuti"


@pytest.mark.parametrize(
    ("extra_row", "message"),
    [
        ("FR,France again,europe,Paris,48.86,2.35\n", "appears twice"),
        ("XA,Nowhere,atlantis,Nowhere,0,0\n", "unknown region"),
        ("XB,Nowhere,europe,Nowhere,95,0\n", "out of range"),
        ("X/,Slash,europe,Nowhere,0,0\n", "not a valid bureau id"),
        ("XC,Nowhere,europe,Nowhere,north,0\n", "could not convert"),
    ],
)
def test_bad_roster_rows_are_refused(extra_row: str, message: str) -> None:
    with pytest.raises(RosterError, match=message):
        Roster.from_text(data_text("ncbs.csv") + extra_row, data_text("organisations.json"))


def test_serving_an_unknown_bureau_is_refused() -> None:
    orgs = data_text("organisations.json").replace('"serves": ["AE", "BH"', '"serves": ["QQ", "BH"')
    with pytest.raises(RosterError, match="unknown bureaus: QQ"):
        Roster.from_text(data_text("ncbs.csv"), orgs)


@pytest.mark.parametrize(
    "bad", ["f", "FRA", "F", "-x", "a+b", "a#", "a/b", "", "admin", "all", "Gs"]
)
def test_unsafe_or_malformed_ids_are_invalid(bad: str) -> None:
    assert not is_valid_bureau_id(bad)


def test_subset_keeps_only_named_bureaus() -> None:
    sub = default_roster().subset(["gs", "FR", "DE", "europol"])
    assert sub.ids == {"gs", "FR", "DE", "europol"}
    assert sub.get("europol").serves == ("FR", "DE")
    with pytest.raises(RosterError, match="not in the roster: ZZ"):
        default_roster().subset(["ZZ"])


def test_a_synthetic_roster_is_large_marked_and_reproducible() -> None:
    roster = synthetic_roster(1000, seed=4)
    ncbs = roster.ncbs()
    assert len(ncbs) == 1000
    assert {"gs", "ccc"} <= roster.ids
    assert all(b.id.startswith(SYNTHETIC_PREFIX) and "Synthetic" in b.name for b in ncbs)
    assert not roster.ids & {b.id for b in default_roster().ncbs()}  # no real country in it
    per_region = Counter(b.region for b in ncbs)
    assert set(per_region.values()) == {200}
    assert synthetic_roster(1000, seed=4) == roster
    assert synthetic_roster(1000, seed=5) != roster
    with pytest.raises(ArgumentError, match="1 to 99,999"):
        synthetic_roster(0)
