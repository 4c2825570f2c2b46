"""The simulated observatory: every outside system of a site, in process, on a scalable clock.

It implements the same interfaces as the real clients (``integrations.love``, ``.efd``...) with
the real parts and their real names, the semantics of the real systems (a CSC that exits stops
beating and may still read STANDBY; the ignored CSCs stay up; Jobs deleted take their CSCs
down; syncs wait for image pulls) and the faults that happen for real.
"""

from integrations.sim.faults import FAULTS, Fault, FaultError, parse_fault
from integrations.sim.observatory import SimObservatory
from integrations.sim.world import Release, SimSite

__all__ = ["FAULTS", "Fault", "FaultError", "Release", "SimObservatory", "SimSite", "parse_fault"]
