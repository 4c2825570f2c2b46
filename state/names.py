"""The shared names of the house: the sites, the kinds of run, the page's phases.

A leaf module (it imports nothing of the project), so that the procedure model, its rules,
the runs and the events can all name a site or a phase without importing each other.
"""

from __future__ import annotations

from typing import Literal, get_args

Site = Literal["summit", "tts", "bts"]
"""The three sites: the summit, the Tucson test stand, the base test stand."""
SITES: tuple[Site, ...] = get_args(Site)

RunKind = Literal["cycle-upgrade", "system-restart"]
"""A cycle upgrade (the camera team starts its own services) or a system restart (we do)."""
RUN_KINDS: tuple[RunKind, ...] = get_args(RunKind)

Phase = Literal["shutdown", "configuration", "deployment", "verification"]
"""The page's four phases, in order."""
PHASES: tuple[Phase, ...] = get_args(Phase)
