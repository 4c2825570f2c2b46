"""``upgrade-bot demo`` on the real night: the camera start-up of a system restart, patience.

Each demo runs on simulated time as fast as the machine goes (see ``test_cli``).
"""

from __future__ import annotations

import pytest

from tests.bot.test_cli import SPEED, demo, summary_rows


def in_order(text: str, *parts: str) -> None:
    """Each part is in ``text``, after the one before."""
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} not after position {at}"
        at = found + len(part)


@pytest.mark.slow
def test_a_system_restart_starts_the_cameras_in_its_stages() -> None:
    """Bridges, the CCS commands per camera confirmed from the EFD, enterControl, STANDBY."""
    code, text = demo("--speed", SPEED, "--site", "bts", "--kind", "system-restart")
    assert code == 0
    assert "system-restart of bts, 21 steps" in text
    in_order(
        text,
        "▶ 16/21 camera-startup: Start the camera bridges on the mcm machines (approved by",
        "✓ camera-startup: 2 unit(s) active",
        "▶ 17/21 camera-ccs-available: Make the camera bridges available in CCS",
        "0/2 camera(s) available in CCS; waiting for ATCamera, MTCamera:",
        "ATCamera on auxtel-mcm.ls.lsst.org, its CSC now OFFLINE, PUBLISH_ONLY, beating:",
        "ccs> set target ats-ocs-bridge",
        "ccs> setAvailable --withLock",
        "MTCamera on lsstcam-mcm.ls.lsst.org",
        "ccs> set target lsstcam-ocs-bridge",
        "1/2 camera(s) available in CCS; waiting for MTCamera:",
        "✓ camera-ccs-available: 2 camera(s) available: ATCamera:0 OFFLINE, AVAILABLE, beating",
        "⏸ 18/21 camera-enter-control: Send the camera CSCs enterControl (STANDBY)",
        "▶ 18/21 camera-enter-control: Send the camera CSCs enterControl (STANDBY) (approved by",
        "ATCamera:0 enterControl: Done",
        "MTCamera:0 enterControl: Done",
        "✓ camera-enter-control: 2 camera CSC(s) in STANDBY or beyond; enterControl sent to "
        "ATCamera:0, MTCamera:0",
        "✓ verify-end-states: 76 CSCs: 71 STANDBY, 5 ENABLED (by themselves) (",
        "the system-restart is done. The control system is back.\n",
    )
    assert "camera-stage" not in text
    rows = summary_rows(text)
    for stage in ("camera-startup", "camera-ccs-available", "camera-enter-control"):
        assert rows[stage][:2] == ["succeeded", "1"], stage


@pytest.mark.slow
def test_slow_image_pulls_show_the_patience_path() -> None:
    """LOVE's images take 55 minutes: overdue at 45, the pods shown, patience, success."""
    code, text = demo("--speed", SPEED, "--fault", "slow-pull:love")
    assert code == 0
    assert "faults: slow-pull:love\n" in text
    in_order(
        text,
        "▶ 20/25 sync-telescope: Sync the T&S applications (telescope project) (approved by",
        "1/10 Synced+Healthy; syncing love",
        "⏳ sync-telescope is taking longer than expected (45m expected): nothing was stopped",
        "!! overdue:sync-telescope#1.1 -> the run's thread in #summit-announce",
        "| love: OutOfSync, Healthy, operation Running: waiting for image pulls",
        "|   Pod love/love-manager-frontend-",
        '(0/1) Back-off pulling image "ts-dockerhub.lsst.org/love"',
        "*Keep waiting* (another 45m), *Cancel* (terminates the running syncs in ArgoCD)",
        "⏳ demo-lead keeps waiting for sync-telescope: another 45m",
        "✓ sync-telescope: 10 app(s) Synced and Healthy: control-system-test, love,",
    )
    assert "TIMED OUT" not in text
    assert "overdue:sync-telescope#1.2" not in text  # patience once was enough
    assert summary_rows(text)["sync-telescope"][:2] == ["succeeded", "1"]


@pytest.mark.slow
def test_a_hung_sync_is_stopped_by_the_lead_never_by_the_bot() -> None:
    """Overdue twice: the lead waits once, then cancels (the sync terminated); the retry works."""
    code, text = demo("--speed", SPEED, "--fault", "hang:sync-nublado")
    assert code == 0
    in_order(
        text,
        "⏳ sync-nublado is taking longer than expected (20m expected): nothing was stopped",
        "⏳ demo-lead keeps waiting for sync-nublado: another 20m",
        "⏳ sync-nublado is taking longer than expected (20m expected): nothing was stopped",
        "✗ sync-nublado cancelled: cancelled by demo-lead",
        "▶ 18/25 sync-nublado: Sync nublado in ArgoCD (retry by demo-lead), attempt 2",
        "✓ sync-nublado: 1 app(s) Synced and Healthy: nublado",
    )
    assert "TIMED OUT" not in text
    assert summary_rows(text)["sync-nublado"][:2] == ["succeeded", "2"]
