"""The SAL components the bot may name, as ts_xml lists them, and checks of a name against them.

``system_wide_shutdown.py`` and ``set_summary_state.py`` match names exactly (case included) and
take an index only for indexed components, so a misspelt name in a procedure or a site's
configuration would make a script fail on the night, or leave a CSC unprotected. Checked here,
with a "did you mean" for a near miss.

Source: lsst-ts/ts_xml ``python/lsst/ts/xml/data/sal_interfaces/SALSubsystems.xml`` at v28.0.1
(commit a724e1a, 2026-07-15): each ``<SALSubsystem>``'s ``<Name>``, whether its
``<IndexEnumeration>`` is other than ``no`` (indexed), and whether ``csc`` is among its
``<AddedGenerics>``. Update this table (and :data:`TS_XML_VERSION`) with each new ts_xml.
"""

from __future__ import annotations

import re

from state.problems import did_you_mean

TS_XML_VERSION = "v28.0.1"
"""The ts_xml release this table was read from."""

INDEXED_CSCS = frozenset({
    "DIMM", "DREAM", "DSM", "Electrometer", "ESS", "FiberSpectrograph", "GCHeaderService",
    "GenericCamera", "Guider", "LaserTracker", "LinearStage", "MTAirCompressor", "MTHexapod",
    "MTVMS", "OCPS", "PMD", "Scheduler", "ScriptQueue", "Test",
})  # fmt: skip
"""CSCs that run as several instances, told apart by their SAL index (``ESS:101``)."""

SINGLE_CSCS = frozenset({
    "ATAOS", "ATBuilding", "ATCamera", "ATDome", "ATDomeTrajectory", "ATHeaderService",
    "ATHexapod", "ATMCS", "ATMonochromator", "ATOODS", "ATPneumatics", "ATPtg", "ATSpectrograph",
    "ATWhiteLight", "CBP", "CCCamera", "CCHeaderService", "CCOODS", "EAS", "GIS", "HVAC",
    "LEDProjector", "MOSS", "MTAOS", "MTCamera", "MTDome", "MTDomeTrajectory", "MTHeaderService",
    "MTM1M3", "MTM1M3TS", "MTM2", "MTMount", "MTOODS", "MTPtg", "MTReflector", "MTRotator",
    "SummitFacility", "TunableLaser", "Watcher", "WeatherForecast", "WFOODS",
})  # fmt: skip
"""CSCs that are not indexed: one instance, index 0."""

NOT_CSCS = frozenset({"AlarmRule", "LOVE", "Script"})
"""SAL components with no summary state: never a target of a state command."""

CSCS = INDEXED_CSCS | SINGLE_CSCS

_REF = re.compile(r"^(?P<name>[^:\s]+)(?::(?P<index>.*))?$")


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a CSC's name as the scripts match it, or None."""
    if name in CSCS:
        return None
    if name in NOT_CSCS:
        return f"{name} is a SAL component but not a CSC: it has no summary state"
    return f"{name!r} is not a CSC of ts_xml {TS_XML_VERSION}{did_you_mean(name, CSCS)}"


def ref_problem(ref: str, *, any_index: bool = True) -> str | None:
    """Why ``Name[:index]`` (or ``Name:*`` when ``any_index``) does not name CSC instances.

    An index goes with an indexed CSC only; a CSC that is not indexed is ``Name`` or
    ``Name:0``.
    """
    found = _REF.match(ref)
    if found is None:
        return f"{ref!r} is not Name or Name:index"
    name, index = found["name"], found["index"]
    return name_problem(name) or _index_problem(ref, name, index, any_index=any_index)


def _index_problem(ref: str, name: str, index: str | None, *, any_index: bool) -> str | None:
    if index is None or (index == "0" and name in SINGLE_CSCS):
        return None
    if name in SINGLE_CSCS:
        return f"{ref!r}: {name} is not an indexed CSC, write {name} (or {name}:0)"
    if index == "*":
        return None if any_index else f"{ref!r}: give one index here, not *"
    if not index.isdigit():
        return f"{ref!r}: the index must be a number (or * for every running one)"
    return None


def names_problem(name: str) -> str | None:
    """Why ``name`` is not what a script's list of CSC names takes (``ignore``, ``start_with``).

    ``system_wide_shutdown.py`` compares these with the names of the running components, so
    ``MTM1M3:0`` matches nothing: the CSC would not be left alone.
    """
    base, colon, _ = name.partition(":")
    if colon:
        return f"{name!r}: the script takes CSC names here, not instances (write {base})"
    return name_problem(name)
