"""Faults: written KIND:TARGET, parsed strictly, and checked against the site's parts."""

from __future__ import annotations

import pytest

from integrations.sim import FAULTS, Fault, FaultError, SimObservatory, parse_fault
from integrations.sim.catalog import SiteName
from tests.integrations.sim.conftest import Build

EXAMPLES = {
    "csc-fault": "csc-fault:ATDome:0",
    "csc-stuck": "csc-stuck:MTDome:0",
    "bridge-stuck": "bridge-stuck:ATCamera",
    "app-degraded": "app-degraded:auxtel",
    "slow-pull": "slow-pull:love",
    "prepull-fail": "prepull-fail:auxtel",
    "love-down": "love-down",
    "love-timeout": "love-timeout",
    "efd-stale": "efd-stale",
    "wrong-cluster": "wrong-cluster",
}
TARGETED = ["csc-fault", "csc-stuck", "bridge-stuck", "app-degraded", "slow-pull", "prepull-fail"]
BARE = ["love-down", "love-timeout", "efd-stale", "wrong-cluster"]


def test_examples_cover_every_kind() -> None:
    """The examples below exercise every fault kind there is."""
    assert set(EXAMPLES) == set(FAULTS)
    assert set(TARGETED) | set(BARE) == set(FAULTS)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_each_kind_parses(kind: str) -> None:
    """Every kind is accepted as written and prints back the same."""
    fault = parse_fault(EXAMPLES[kind])
    assert fault.kind == kind
    assert fault.target == EXAMPLES[kind].partition(":")[2]
    assert str(fault) == EXAMPLES[kind]


def test_surrounding_spaces_are_ignored() -> None:
    """A command-line value with spaces around it is read the same."""
    assert parse_fault("  csc-stuck:MTDome:0 \n") == Fault("csc-stuck", "MTDome:0")


@pytest.mark.parametrize("text", ["csc-broken:MTDome:0", "hang", "", "LOVE-DOWN"])
def test_unknown_kind_lists_the_known_ones(text: str) -> None:
    """An unknown kind is refused with every known kind and what it needs."""
    with pytest.raises(FaultError, match="unknown fault") as caught:
        parse_fault(text)
    for kind, needs in FAULTS.items():
        assert f"{kind} ({needs})" in str(caught.value)


@pytest.mark.parametrize("kind", TARGETED)
def test_missing_target(kind: str) -> None:
    """A kind that hits one part needs that part."""
    with pytest.raises(FaultError, match=f"^{kind} needs a target: "):
        parse_fault(kind)


@pytest.mark.parametrize("kind", BARE)
def test_target_on_a_site_wide_kind(kind: str) -> None:
    """A site-wide kind takes no target."""
    with pytest.raises(FaultError, match=f"^{kind} takes no target \\(got 'MTDome:0'\\)"):
        parse_fault(f"{kind}:MTDome:0")


@pytest.mark.parametrize(
    "target", ["MTDome", "MTDome:", ":0", "MTDome:x", "MTDome:0:1", "MTDome:-1"]
)
@pytest.mark.parametrize("kind", ["csc-fault", "csc-stuck"])
def test_csc_target_must_be_name_index(kind: str, target: str) -> None:
    """A CSC is written Name:index."""
    with pytest.raises(FaultError, match="write the CSC as Name:index"):
        parse_fault(f"{kind}:{target}")


def test_fault_error_is_a_value_error() -> None:
    """Callers that check options catch ValueError."""
    assert issubclass(FaultError, ValueError)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("site", "fault", "says"),
    [
        ("summit", "csc-stuck:MTDome:7", "summit has no CSC MTDome:7"),
        ("bts", "csc-fault:ScriptQueue:3", "bts has no CSC ScriptQueue:3"),
        ("summit", "csc-stuck:MTDomeX:0", "summit has no CSC MTDomeX:0"),
        ("bts", "bridge-stuck:CCCamera", "bts has bridges for ATCamera, MTCamera only"),
        ("tts", "bridge-stuck:MTCamera", "tts has bridges for ATCamera, CCCamera only"),
        ("summit", "bridge-stuck:ATDome", "summit has bridges for ATCamera, MTCamera, CCCamera"),
        ("tts", "app-degraded:rubin-too-producer", "no ArgoCD application rubin-too-producer"),
        ("bts", "app-degraded:ocps-uws-job", "no ArgoCD application ocps-uws-job at bts"),
        ("bts", "slow-pull:ocps-uws-job", "no ArgoCD application ocps-uws-job at bts"),
    ],
)
async def test_inject_refuses_what_the_site_lacks(
    build: Build, site: SiteName, fault: str, says: str
) -> None:
    """A target the site does not have is refused, and nothing is injected."""
    observatory = build(site)
    with pytest.raises(ValueError, match=says):
        await observatory.inject(fault)
    assert observatory.world.doc["faults"] == []


@pytest.mark.asyncio
async def test_inject_accepts_text_or_fault(summit: SimObservatory) -> None:
    """Faults are kept as written, whether given as text or parsed."""
    await summit.inject("csc-stuck:MTDome:0")
    await summit.inject(Fault("app-degraded", "auxtel"))
    await summit.inject("love-down")
    world = summit.world
    assert world.doc["faults"] == ["csc-stuck:MTDome:0", "app-degraded:auxtel", "love-down"]
    assert world.faults("csc-stuck") == {"MTDome:0"}
    assert world.has_fault("love-down")
    assert not world.has_fault("efd-stale")


@pytest.mark.asyncio
async def test_inject_refuses_unparsable_text(summit: SimObservatory) -> None:
    """Text is parsed first: a malformed fault never reaches the world."""
    with pytest.raises(FaultError, match="unknown fault 'nope'"):
        await summit.inject("nope:MTDome:0")
    assert summit.world.doc["faults"] == []
