"""The simulated sites' parts: the real CSC names, counts and where each one runs."""

from __future__ import annotations

from collections import Counter

import pytest

from integrations.efd import SummaryState
from integrations.sim import SimObservatory
from integrations.sim.catalog import CscSpec, SiteName, cscs
from integrations.sim.world import spread
from tests.integrations.sim.conftest import site_of

SITES: tuple[SiteName, ...] = ("summit", "tts", "bts")
CAMERAS = ("ATCamera", "MTCamera", "CCCamera")


def refs(site: SiteName) -> list[str]:
    """Every CSC instance of the configured site, in catalog order."""
    cameras = tuple(camera for camera, _, _ in site_of(site).camera_bridges)
    return [spec.ref for spec in cscs(site, cameras)]


def test_summit_has_about_150_instances() -> None:
    """The summit runs 150 CSC instances, most of them ESS, as the real site does."""
    summit = refs("summit")
    assert len(summit) == 150
    assert 140 <= len(summit) <= 160
    assert Counter(ref.partition(":")[0] for ref in summit)["ESS"] == 67


def test_test_stands_run_fewer() -> None:
    """The test stands run a subset: 77 instances at TTS and 76 at BTS."""
    assert len(refs("tts")) == 77
    assert len(refs("bts")) == 76
    assert set(refs("tts")) < set(refs("summit"))


@pytest.mark.parametrize("site", SITES)
def test_refs_are_unique(site: SiteName) -> None:
    """No CSC instance is listed twice, and no two share a Kubernetes Job name in a namespace."""
    cameras = tuple(camera for camera, _, _ in site_of(site).camera_bridges)
    specs = cscs(site, cameras)
    assert len({spec.ref for spec in specs}) == len(specs)
    assert len({(spec.where, spec.job) for spec in specs}) == len(specs)


@pytest.mark.parametrize(
    ("site", "queues"), [("summit", [1, 2, 3]), ("tts", [1, 2, 3]), ("bts", [1, 2])]
)
def test_scriptqueues(site: SiteName, queues: list[int]) -> None:
    """ScriptQueue:1..3 at the summit and TTS, only 1 and 2 at BTS, as the site says."""
    found = sorted(int(r.partition(":")[2]) for r in refs(site) if r.startswith("ScriptQueue:"))
    assert found == queues == list(site_of(site).scriptqueues)


@pytest.mark.parametrize("site", SITES)
def test_real_names_present(site: SiteName) -> None:
    """The Watcher, the M1M3 pair, the domes and mounts are there under their real names."""
    present = set(refs(site))
    assert {"Watcher:0", "MTM1M3:0", "MTM1M3TS:0", "ATDome:0", "MTDome:0", "MTMount:0"} <= present
    assert {"ESS:1", "HVAC:0", "WeatherForecast:0", "OCPS:1", "Test:42"} <= present


@pytest.mark.parametrize(
    ("site", "where"), [("summit", "crio"), ("tts", "simonyitel"), ("bts", "simonyitel")]
)
def test_m1m3_runs_on_its_crio_at_the_summit_only(site: SiteName, where: str) -> None:
    """At the summit the M1M3 CSCs run on their cRIOs; the test stands run them in simonyitel."""
    specs = {s.ref: s for s in cscs(site, ())}
    assert specs["MTM1M3:0"].where == where
    assert specs["MTM1M3TS:0"].where == where


@pytest.mark.parametrize(
    ("site", "cameras"),
    [
        ("summit", {"ATCamera", "MTCamera", "CCCamera"}),
        ("tts", {"ATCamera", "CCCamera"}),
        ("bts", {"ATCamera", "MTCamera"}),
    ],
)
def test_cameras_only_where_the_site_has_their_bridge(site: SiteName, cameras: set[str]) -> None:
    """A camera CSC exists only where its OCS bridge is configured, and runs in that bridge."""
    configured = {camera for camera, _, _ in site_of(site).camera_bridges}
    assert configured == cameras
    specs = {spec.name: spec for spec in cscs(site, tuple(configured))}
    assert {name for name in CAMERAS if name in specs} == cameras
    for camera in cameras:
        assert specs[camera].ref == f"{camera}:0"
        assert specs[camera].where == f"bridge:{camera}"
    assert not {name for name in CAMERAS if name in {s.name for s in cscs(site, ())}}


@pytest.mark.parametrize("site", SITES)
def test_every_namespace_is_a_telescope_app(site: SiteName) -> None:
    """Each CSC runs in a namespace ArgoCD syncs, in its camera's bridge, or on a cRIO."""
    apps = set(site_of(site).telescope_apps)
    cameras = tuple(camera for camera, _, _ in site_of(site).camera_bridges)
    for spec in cscs(site, cameras):
        assert spec.where in apps or spec.where.startswith("bridge:") or spec.where == "crio"


def test_job_names() -> None:
    """A Job is the lower-case CSC name, with the index appended when it is not 0."""
    assert CscSpec("MTDome", 0, "simonyitel").job == "mtdome"
    assert CscSpec("ESS", 101, "envsys").job == "ess-101"
    assert CscSpec("ScriptQueue", 3, "obssys").ref == "ScriptQueue:3"


def test_spread_is_repeatable_and_bounded() -> None:
    """Durations depend on the key only and stay within their bounds."""
    values = [spread(f"ESS:{i}", 2.0, 6.0) for i in range(200)]
    assert values == [spread(f"ESS:{i}", 2.0, 6.0) for i in range(200)]
    assert all(2.0 <= v < 6.0 for v in values)
    assert len(set(values)) > 100


def test_initial_states_at_the_summit(summit: SimObservatory) -> None:
    """Before the upgrade everyone beats; the page's special cases start where the docs say."""
    world = summit.world
    assert set(world.doc["cscs"]) == set(refs("summit"))
    assert all(world.beating(ref) for ref in world.doc["cscs"])
    assert world.state("MTM1M3TS:0") is SummaryState.ENABLED
    assert world.state("MTM1M3:0") is SummaryState.DISABLED
    assert world.state("Watcher:0") is SummaryState.ENABLED
    for camera in CAMERAS:
        assert world.state(f"{camera}:0") is SummaryState.DISABLED
    for ref in site_of("summit").auto_enabled:
        assert world.state(ref) is SummaryState.ENABLED
    states = Counter(world.state(ref) for ref in world.doc["cscs"])
    assert set(states) == {SummaryState.STANDBY, SummaryState.DISABLED, SummaryState.ENABLED}
