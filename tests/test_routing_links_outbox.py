"""Pure parts of the network: topologies, the link model, the store-and-forward outbox."""

from __future__ import annotations

import pytest

from bureaus import LinkModel, LinkOverride, Outage, great_circle_km
from bureaus.outbox import Outbox, OutboxFull, Transmission
from protocol import ArgumentError, default_roster
from protocol.network.routing import TOPOLOGIES, next_hops, path, reach

ROSTER = default_roster()


@pytest.mark.parametrize(
    ("topology", "sender", "recipient", "expected"),
    [
        ("mesh", "FR", "DE", ("FR", "DE")),
        ("hybrid", "FR", "DE", ("FR", "DE")),
        ("hub", "FR", "DE", ("FR", "gs", "DE")),
        ("hub", "gs", "DE", ("gs", "DE")),
        ("regional", "CI", "KE", ("CI", "rb-abidjan", "gs", "rb-nairobi", "KE")),
        ("regional", "KE", "UG", ("KE", "rb-nairobi", "UG")),  # turns at the shared bureau
        ("regional", "FR", "KE", ("FR", "gs", "rb-nairobi", "KE")),
        ("regional", "gs", "AR", ("gs", "rb-buenos-aires", "AR")),
        ("regional", "rb-nairobi", "KE", ("rb-nairobi", "KE")),
    ],
)
def test_paths(topology: str, sender: str, recipient: str, expected: tuple[str, ...]) -> None:
    assert path(topology, ROSTER, sender, recipient) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_paths_start_and_end_right_and_never_repeat(topology: str) -> None:
    ids = [b.id for b in ROSTER]
    for sender in ids[::7]:
        for recipient in ids[::11]:
            if sender == recipient:
                continue
            hops = path(topology, ROSTER, sender, recipient)  # type: ignore[arg-type]
            assert hops[0] == sender
            assert hops[-1] == recipient
            assert len(set(hops)) == len(hops)


def test_next_hops_split_a_broadcast_by_regional_bureau() -> None:
    ncbs = [b.id for b in ROSTER.ncbs()]
    hops = next_hops("regional", ROSTER, "gs", ncbs, "gs")
    assert set(hops["rb-nairobi"]) == set(ROSTER.get("rb-nairobi").serves)
    assert hops["FR"] == ("FR",)
    assert sum(len(v) for v in hops.values()) == 195


def test_reach_for_acls() -> None:
    hub = reach("hub", ROSTER)
    assert hub["FR"] == {"gs"}
    assert len(hub["gs"]) == len(ROSTER) - 1
    assert reach("mesh", ROSTER)["FR"] == ROSTER.ids - {"FR"}


def test_unknown_bureau_or_topology() -> None:
    with pytest.raises(KeyError):
        path("mesh", ROSTER, "FR", "ZZ")
    with pytest.raises(ArgumentError, match="unknown topology"):
        path("ring", ROSTER, "FR", "DE")  # type: ignore[arg-type]


# --- links ---------------------------------------------------------------------------------------

# Great-circle distances from Lyon, from public distance tables (not from our code).
REFERENCE_KM = {"rb-nairobi": 6_080, "rb-buenos-aires": 10_960}


@pytest.mark.parametrize("bureau", sorted(REFERENCE_KM))
def test_link_delay_from_lyon_matches_distance(
    bureau: str, capsys: pytest.CaptureFixture[str]
) -> None:
    model = LinkModel(ROSTER)
    expected_ms = REFERENCE_KM[bureau] / 199_861.6 * 1000 * 1.5
    got = model.base_ms("gs", bureau)
    with capsys.disabled():
        print(
            f"\nLyon -> {ROSTER.get(bureau).city}: modelled {got:.1f} ms one way, "
            f"distance-based {expected_ms:.1f} ms"
        )
    assert abs(got - expected_ms) / expected_ms < 0.10


def test_great_circle_known_value() -> None:
    # London to Paris, about 344 km
    assert great_circle_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(344, rel=0.01)


def test_overrides_jitter_loss_and_outages() -> None:
    model = LinkModel(
        ROSTER,
        seed=3,
        jitter_ms=5.0,
        loss=0.5,
        links={("gs", "KE"): LinkOverride(one_way_ms=300.0)},
        regions={"americas": LinkOverride(extra_ms=40.0)},
        outages=[Outage(10.0, 20.0, region="africa")],
    )
    assert model.base_ms("KE", "gs") == 300.0  # the satellite hop, either way round
    assert model.base_ms("gs", "AR") == pytest.approx(model.distance_ms("gs", "AR") + 40.0)
    draws = [model.delay_ms("gs", "FR", "m1", attempt) for attempt in range(5)]
    assert draws == [model.delay_ms("gs", "FR", "m1", a) for a in range(5)]  # seeded
    assert len(set(draws)) > 1
    losses = [model.lost("gs", "FR", f"m{n}") for n in range(200)]
    assert 60 < sum(losses) < 140
    assert model.down_until("gs", "KE", 15.0) == 20.0
    assert model.down_until("gs", "KE", 25.0) is None
    assert model.down_until("gs", "FR", 15.0) is None
    assert LinkModel(ROSTER, enabled=False).delay_ms("gs", "AR", "m") == 0.0


# --- outbox --------------------------------------------------------------------------------------


def item(n: int, priority: str = "routine") -> Transmission:
    return Transmission("gs", b"x", f"m{n}", "diffusion", priority, n)


def test_a_full_outbox_sheds_the_oldest_routine_transmission() -> None:
    box = Outbox(limit=3)
    assert box.put(item(1, "urgent")) is None
    assert box.put(item(2)) is None
    assert box.put(item(3)) is None
    shed = box.put(item(4, "flash"))
    assert shed is not None
    assert shed.message_id == "m2"
    assert len(box) == 3


def test_urgent_traffic_is_never_shed_silently() -> None:
    box = Outbox(limit=2)
    box.put(item(1, "urgent"))
    box.put(item(2, "flash"))
    with pytest.raises(OutboxFull):
        box.put(item(3))
    assert len(box) == 2


def test_outbox_is_fifo() -> None:
    box = Outbox()
    assert box.pop() is None
    box.put(item(1))
    box.put(item(2))
    box.put(item(0), front=True)  # a transmission put back after a failure goes first
    assert [box.pop().message_id for _ in range(3)] == ["m0", "m1", "m2"]  # type: ignore[union-attr]
    assert box.pop() is None
