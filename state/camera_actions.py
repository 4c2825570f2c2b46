"""The camera start-up's own action types: the CCS part, and the camera CSCs' ``enterControl``.

In a system restart the deployment team starts the camera services (the page: "done by the
deployment team for a system restart"). The ops docs (observatory-controls-docs,
Deployment-Activities, "Startup Camera Services") give three stages after the bridges'
``systemctl start``: on each mcm host ``ccs-shell``, ``set target <bridge>``, ``setAvailable
--withLock``, ``exit`` ("Transition to OFFLINE_AVAILABLE"); then each camera CSC, available,
takes ``enterControl`` to STANDBY. Started, a bridge's camera CSC beats in OFFLINE with its
``offlineDetailedState`` PUBLISH_ONLY; ``setAvailable`` makes it AVAILABLE (ts_xml
``OfflineDetailedState``), the only substate in which it takes ``enterControl``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from state.action_base import Automated, Patient, System
from state.duration import Duration


class CcsSetAvailable(Patient):
    """A person makes each camera bridge available from CCS; the bot shows how and confirms.

    The step shows, per camera of the site, its mcm host and the ops docs' commands, and
    follows the EFD until each camera CSC beats in OFFLINE with ``offlineDetailedState``
    AVAILABLE (or is already past OFFLINE). The bot changes nothing itself, so it needs no
    approval; the person at the mcm host takes the time it takes (patient).
    """

    type: Literal["ccs.set_available"]
    poll: Duration = Field(
        default="10s", validate_default=True, description="How often the EFD is read."
    )
    systems: ClassVar[tuple[System, ...]] = ("camera-bridges", "efd")

    def survives_restart(self) -> bool:
        """It only reads the EFD: a restarted bot goes on watching."""
        return True


class LoveEnterControl(Automated):
    """``enterControl`` through LOVE to each camera CSC once it is available, then to STANDBY.

    Each camera CSC of the site (``targets: cameras``) is sent ``cmd_enterControl`` (LOVE's
    ``cmd/`` endpoint, no parameters) when the EFD shows it beating in OFFLINE and AVAILABLE;
    one already in STANDBY (or beyond) is left alone. The step ends when every one beats in
    STANDBY.
    """

    type: Literal["love.enter_control"]
    targets: Literal["cameras"] = Field(
        default="cameras", description="The site's camera CSCs (one per camera bridge)."
    )
    poll: Duration = Field(
        default="5s", validate_default=True, description="How often the EFD is read."
    )
    changes: ClassVar[bool] = True
    systems: ClassVar[tuple[System, ...]] = ("love", "efd")

    def changes_csc_states(self) -> bool:
        """``enterControl`` takes a CSC from OFFLINE to STANDBY."""
        return True
