"""Each action type's "by hand" part in its step's message, against an expected text.

The expected texts (``by_hand/<step>.txt``) were written from the page and reviewed by hand;
a change to what a person is told shows here as a diff. One step per action type (two for
the scripts whose configuration is not known yet), at the summit as shipped, where the views'
addresses, the bare-metal hosts, the ESS controllers and the kept CSCs are not configured, and
one step at a site that configured its views.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.procedures import load_procedure
from bot.config.sites import DASHBOARDS, Links, SiteConfig, default_sites
from bot.engine.by_hand import by_hand, plain
from bot.slack.messages import step_message
from state.actions import LoveCommand
from state.machine import start
from state.procedure import Step
from state.run import Run, StepStatus
from tests.support.runs import T0, start_command

EXPECTED = Path(__file__).parent / "by_hand"

STEPS = {
    "preflight": "preflight.check",
    "announce-start": "announce",
    "ess-controllers": "manual",
    "shutdown-cscs": "love.run_script system_wide_shutdown.py",
    "offline-stragglers": "love.run_script set_summary_state.py (stragglers)",
    "scriptqueues-offline": "love.run_script set_summary_state.py (ScriptQueues)",
    "enable-kept-cscs": "love.run_script set_summary_state.py (keep_enabled unset)",
    "verify-offline": "efd.wait_for_states",
    "stop-camera-bridges": "ssh.systemctl camera-bridges",
    "bare-metal-shutdown": "ssh.systemctl bare-metal (unset)",
    "kube-cleanup": "kube.cleanup all",
    "nublado-cleanup": "kube.cleanup nublado",
    "phalanx-pr": "github.pull_request",
    "config-branches": "github.branches (unset)",
    "sync-telescope": "argocd.sync project",
    "sync-nublado": "argocd.sync app",
    "camera-ccs-available": "ccs.set_available",
    "camera-enter-control": "love.enter_control",
    "lovecmd": "love.command",
}


def _run(site: str) -> Run:
    """A run holding one step of each action type (both kinds' steps, and a command)."""
    steps = {step.id: step for step in load_procedure().steps}
    command = LoveCommand.model_validate(
        {"type": "love.command", "csc": "ATDome", "command": "standby", "timeout": "1m"}
    )
    steps["lovecmd"] = Step(
        id="lovecmd", title="Send ATDome to STANDBY", phase="shutdown", action=command
    )
    chosen = tuple(steps[step_id] for step_id in STEPS)
    return start(None, start_command(site=site, steps=chosen), T0)[0]


def shown(run: Run, step_id: str, site: SiteConfig) -> str:
    """The step's "by hand" section and links as Slack shows them, awaiting approval."""
    state = run.step(step_id)
    assert state is not None
    state = state.model_copy(update={"status": StepStatus.AWAITING_APPROVAL})
    _, blocks = step_message(run, state, site, "preview")
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    texts += [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    start_at = next(i for i, t in enumerate(texts) if t.startswith("*By hand:*"))
    hand = texts[start_at]
    links = [t for t in texts if t.startswith("<") or "_not configured_" in t]
    return "\n".join([hand, *links]) + "\n"


@pytest.mark.parametrize("step_id", list(STEPS))
def test_each_action_type_says_how_to_do_it_by_hand(step_id: str) -> None:
    """Its "by hand" part and links are the expected text (``by_hand/<step>.txt``)."""
    run = _run("summit")
    expected = (EXPECTED / f"{step_id}.txt").read_text("utf-8")
    assert shown(run, step_id, default_sites()["summit"]) == expected


def test_configured_views_are_linked_and_unset_ones_named() -> None:
    """With the Summary state view and two dashboards configured: those linked, the rest not."""
    tts = default_sites()["tts"]
    links = Links(
        summary_state="https://tucson-teststand.lsst.codes/love/uif/view?id=1",
        dashboards={DASHBOARDS[0]: "https://tucson-teststand.lsst.codes/chronograf/d/1"},
    )
    site = tts.model_copy(update={"links": links})
    text = shown(_run("tts"), "verify-offline", site)
    assert "<https://tucson-teststand.lsst.codes/love/uif/view?id=1|LOVE Summary state view>" in (
        text
    )
    assert "<https://tucson-teststand.lsst.codes/chronograf/d/1|Heartbeats>" in text
    assert "MT Summary State Monitor: _not configured_" in text
    unset = shown(_run("tts"), "verify-offline", tts)
    assert "LOVE Summary state view: _not configured_" in unset
    assert "chronograf" not in unset  # no address made up for a dashboard


def test_an_ended_step_keeps_its_links_but_not_the_instructions() -> None:
    """Nothing is left to do by hand once the step ended."""
    run = _run("summit")
    state = run.step("kube-cleanup")
    assert state is not None
    ended = state.model_copy(update={"status": StepStatus.SUCCEEDED})
    _, blocks = step_message(run, ended, default_sites()["summit"], None)
    assert "By hand" not in str(blocks)
    assert "<https://github.com/lsst-ts/k8s-admin|lsst-ts/k8s-admin>" in str(blocks)


def test_the_terminal_shows_the_same_plainly() -> None:
    """The terminal's text has the same commands and each view's address (or not configured)."""
    run = _run("summit")
    state = run.step("kube-cleanup")
    assert state is not None
    hand = by_hand(run, state, default_sites()["summit"])
    assert hand is not None
    assert plain(hand) == (
        "by hand:\n"
        "In a clone of lsst-ts/k8s-admin, set the cluster first: "
        "kubectl config use-context yagan\n"
        "then run ./cleanup_all: it prints the context; answer y only if it is yagan.\n"
        "lsst-ts/k8s-admin: https://github.com/lsst-ts/k8s-admin"
    )
