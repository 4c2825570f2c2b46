"""Faults the simulated observatory can be given, each one a thing that goes wrong for real.

Written ``KIND:TARGET`` on the command line (``--fault csc-stuck:MTDome:0``), checked against
the site's parts before anything starts so that a typo is an error, not a quiet demo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FaultKind = Literal[
    "csc-fault", "csc-stuck", "bridge-stuck", "app-degraded", "slow-pull", "prepull-fail",
    "love-down", "love-timeout",
    "efd-stale", "wrong-cluster",
]  # fmt: skip

FAULTS: dict[str, str] = {
    "csc-fault": "CSC (Name:index) that comes back in FAULT and stays there",
    "csc-stuck": "CSC (Name:index) that will not go OFFLINE",
    "bridge-stuck": "camera (ATCamera, MTCamera, CCCamera) whose OCS bridge will not stop",
    "app-degraded": "ArgoCD application whose sync ends Degraded",
    "slow-pull": "ArgoCD application whose images take 55 minutes to pull (ImagePullBackOff)",
    "prepull-fail": "ArgoCD application whose first image the pre-pull cannot pull (its tag "
    "was not pushed: ErrImagePull)",
    "love-down": "LOVE unreachable (no target: write love-down)",
    "love-timeout": "the first script added through LOVE is queued, but no answer comes back "
    "(no target)",
    "efd-stale": "the EFD stops receiving data (no target)",
    "wrong-cluster": "the Kubernetes credentials reach another site's cluster (no target)",
}
"""Every fault kind and what it needs as a target."""

_NO_TARGET = {"love-down", "love-timeout", "efd-stale", "wrong-cluster"}


class FaultError(ValueError):
    """A fault that cannot be injected as written."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: its kind and what it hits."""

    kind: FaultKind
    target: str = ""

    def __str__(self) -> str:
        """``csc-stuck:MTDome:0``."""
        return f"{self.kind}:{self.target}" if self.target else self.kind


def parse_fault(text: str) -> Fault:
    """``KIND:TARGET`` (or a bare ``KIND`` for site-wide faults) as a :class:`Fault`."""
    kind, _, target = text.strip().partition(":")
    if kind not in FAULTS:
        known = "; ".join(f"{k} ({v})" for k, v in FAULTS.items())
        raise FaultError(f"unknown fault {kind!r}; known: {known}")
    if kind in _NO_TARGET:
        if target:
            raise FaultError(f"{kind} takes no target (got {target!r})")
        return Fault(kind)  # type: ignore[arg-type]  # checked against FAULTS
    if not target:
        raise FaultError(f"{kind} needs a target: {FAULTS[kind]}")
    if kind.startswith("csc-"):
        name, _, index = target.partition(":")
        if not name or not index.isdigit():
            raise FaultError(f"{kind}:{target}: write the CSC as Name:index, e.g. MTDome:0")
    return Fault(kind, target)  # type: ignore[arg-type]  # checked against FAULTS
