"""The simulated observatory's parts, by site, with the real names.

CSC instances are listed by the Kubernetes namespace (= ArgoCD application of the ``telescope``
project) whose Jobs run them, as in Phalanx and lsst-ts/k8s-admin; the cameras' CSCs live in
their OCS bridges on the mcm machines, and the M1M3 controllers run on their own cRIOs (which
is why the summit ignores them during the shutdown). The lists follow the published
deployments; the test stands run a subset of the summit. Counts at the summit: about 150
instances, most of them ESS indices, as the real site has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SiteName = Literal["summit", "tts", "bts"]


@dataclass(frozen=True, slots=True)
class CscSpec:
    """One CSC instance and where it runs."""

    name: str
    index: int
    where: str
    """A namespace, ``bridge:<camera>`` (its camera's OCS bridge) or ``crio`` (own controller)."""

    @property
    def ref(self) -> str:
        """``Name:index``."""
        return f"{self.name}:{self.index}"

    @property
    def job(self) -> str:
        """The name of its Kubernetes Job (lower case, index appended when not 0)."""
        return self.name.lower() + (f"-{self.index}" if self.index else "")


def _many(name: str, indices: range | list[int], where: str) -> list[CscSpec]:
    return [CscSpec(name, i, where) for i in indices]


def _ones(names: str, where: str, index: int = 0) -> list[CscSpec]:
    return [CscSpec(name, index, where) for name in names.split()]


_AUXTEL = _ones(
    "ATAOS ATDome ATDomeTrajectory ATHeaderService ATHexapod ATMCS ATOODS ATPneumatics ATPtg "
    "ATSpectrograph ATBuilding",
    "auxtel",
)
_SIMONYI = [
    *_ones(
        "MTAOS MTDome MTDomeTrajectory MTMount MTPtg MTRotator MTM2 MTHeaderService MTOODS "
        "CCHeaderService CCOODS",
        "simonyitel",
    ),
    *_many("MTHexapod", [1, 2], "simonyitel"),
    *_many("MTAirCompressor", [1, 2], "simonyitel"),
    *_many("MTVMS", [1, 2, 3], "simonyitel"),
    CscSpec("LaserTracker", 1, "simonyitel"),
]
_OBSSYS = [
    *_many("ScriptQueue", [1, 2, 3], "obssys"),
    *_many("Scheduler", [1, 2, 3], "obssys"),
    CscSpec("Watcher", 0, "obssys"),
    CscSpec("Authorize", 0, "obssys"),
]
_CALSYS = [
    *_ones("ATMonochromator ATWhiteLight TunableLaser CBP LEDProjector", "calsys"),
    *_many("Electrometer", [101, 102, 103, 201], "calsys"),
    *_many("FiberSpectrograph", [101, 102, 103], "calsys"),
    *_many("LinearStage", [101, 102, 103, 104], "calsys"),
]
_SUMMIT_ESS = [
    1,
    *range(101, 125),
    *range(201, 207),
    *range(301, 312),
    *range(401, 406),
    *range(501, 505),
    *range(601, 606),
    *range(701, 705),
    *range(801, 808),
]
_ENVSYS_SUMMIT = [
    *_many("ESS", _SUMMIT_ESS, "envsys"),
    *_ones("HVAC WeatherForecast GIS", "envsys"),
    *_many("EPM", [1, 301], "envsys"),
    *_many("DREAM", [0], "envsys"),
    *_many("DIMM", [1, 2], "envsys"),
    *_many("DSM", [1, 2], "envsys"),
]
_ENVSYS_TEST_STAND = [
    *_many("ESS", [1, 101, 102, 103, 104, 105, 106, 107, 201, 202, 203, 204, 301], "envsys"),
    *_ones("HVAC WeatherForecast GIS", "envsys"),
    *_many("DSM", [1, 2], "envsys"),
    CscSpec("EPM", 1, "envsys"),
]
_OCPS = _many("OCPS", [1, 2, 3], "uws")
_TEST = _many("Test", [1, 2, 42], "control-system-test")
_CAMERAS = {
    camera: CscSpec(camera, 0, f"bridge:{camera}")
    for camera in ("ATCamera", "MTCamera", "CCCamera")
}
_CRIO = _ones("MTM1M3 MTM1M3TS", "crio")
"""At the summit the M1M3 CSCs run on their cRIOs; the test stands run them in Kubernetes."""
_GENERIC_CAMERAS = [
    *_many("GenericCamera", [1, 101, 102, 103], "auxtel"),
    *_many("GCHeaderService", [1, 101, 102, 103], "auxtel"),
]


def cscs(site: SiteName, cameras: tuple[str, ...]) -> list[CscSpec]:
    """The CSC instances of ``site``; ``cameras`` are the cameras whose bridges it has."""
    bridged = [_CAMERAS[c] for c in cameras if c in _CAMERAS]
    if site == "summit":
        return [
            *_AUXTEL, *_SIMONYI, *_OBSSYS, *_CALSYS, *_ENVSYS_SUMMIT, *_OCPS, *_TEST,
            *_GENERIC_CAMERAS, *_CRIO, *bridged,
        ]  # fmt: skip
    queues = [1, 2, 3] if site == "tts" else [1, 2]
    obssys = [c for c in _OBSSYS if c.name != "ScriptQueue" or c.index in queues]
    calsys = [c for c in _CALSYS if c.name in {"ATMonochromator", "Electrometer", "LinearStage"}]
    return [
        *_AUXTEL, *_SIMONYI, *obssys, *calsys, *_ENVSYS_TEST_STAND, *_OCPS[:2], *_TEST,
        *_GENERIC_CAMERAS[:2], *_ones("MTM1M3 MTM1M3TS", "simonyitel"), *bridged,
    ]  # fmt: skip


CLUSTERS = ("yagan", "pillan", "manke")
"""The sites' Kubernetes clusters (summit, tts, bts)."""

OTHER_APPS = ("science-platform", "nublado", "sasquatch")
"""The applications the procedure syncs by name, outside the ``telescope`` project."""

LOVE_DEPLOYMENTS = (
    "love-manager-frontend", "love-manager-producers", "love-nginx", "love-commander",
    "love-producer-auxtel", "love-producer-maintel", "love-producer-obssys",
)  # fmt: skip
"""LOVE's Deployments (cleanup_all deletes all Deployments in ``love``; the sync restores them)."""

NUBLADO_USERS = (
    "adam", "bruno", "cristian", "erik", "holger", "jacqueline", "kevin", "leanne", "merlin",
    "patrick", "sebastian", "tiago",
)  # fmt: skip
"""Users with a Nublado lab at the start of the run (namespace ``nublado-<user>``)."""
