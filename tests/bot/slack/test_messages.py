"""A run's messages as Block Kit, within Slack's limits."""

from __future__ import annotations

from bot.config.procedures import load_procedure
from bot.config.sites import default_sites
from bot.slack.blocks import MAX_BLOCKS, SECTION
from bot.slack.messages import run_header, step_message
from state.machine import start
from state.run import Run, StepStatus
from tests.support.runs import T0, start_command, started


def test_a_step_message_stays_within_slack_limits() -> None:
    """Thousands of CSCs in trouble and a huge progress line: under 50 blocks, 3000 chars."""
    run = started(site="summit")
    state = run.steps[0].model_copy(
        update={
            "status": StepStatus.RUNNING,
            "issues": tuple(f"ESS:{i} STANDBY, beating" for i in range(5000)),
            "outcome": "x" * 10_000,
        }
    )
    text, blocks = step_message(run, state, default_sites()["summit"], "y" * 10_000)
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        body = block.get("text", {}).get("text", "")
        assert len(body) <= SECTION
    assert "… and 4980 more" in str(blocks)
    assert text.startswith("1/4 ")


def links(run: Run, step_id: str, progress: str | None = None) -> str:
    """The context line of links under the step's message."""
    state = run.step(step_id)
    assert state is not None
    _, blocks = step_message(run, state, default_sites()["summit"], progress)
    lines = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    return " ".join(line for line in lines if line.startswith("<"))


def test_links_open_what_they_name() -> None:
    """An app opens the app, a project its filtered list, the pull request its page."""
    steps = load_procedure().for_run("summit", "cycle-upgrade")
    run = start(None, start_command(site="summit", steps=steps), T0)[0]
    argocd = "https://summit-lsp.lsst.codes/argo-cd"
    assert links(run, "sync-nublado") == f"<{argocd}/applications/argocd/nublado|ArgoCD nublado>"
    assert links(run, "sync-telescope").startswith(
        f"<{argocd}/applications?proj=telescope|ArgoCD project telescope> · "
        f"<{argocd}/applications/argocd/control-system-test|ArgoCD control-system-test> · "
    )
    assert links(run, "phalanx-pr") == (
        "<https://github.com/lsst-sqre/phalanx/pulls?q=is:pr%20head:tickets/DM-1"
        "|lsst-sqre/phalanx pull requests>"
    )
    waiting = (
        "lsst-sqre/phalanx#5123 open, checks pending "
        "(https://github.com/lsst-sqre/phalanx/pull/5123): waiting for it to be merged"
    )
    assert links(run, "phalanx-pr", waiting) == (
        "<https://github.com/lsst-sqre/phalanx/pull/5123|lsst-sqre/phalanx#5123>"
    )


def test_an_overdue_step_offers_the_three_choices() -> None:
    """Keep waiting, Cancel (with what it stops, behind a confirm), Mark done… (a note)."""
    run = start(None, start_command(site="summit"), T0)[0]
    state = run.steps[2].model_copy(update={"status": StepStatus.OVERDUE, "overdue": 1})
    text, blocks = step_message(run, state, default_sites()["summit"], None)
    assert text.endswith(": overdue")
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [(e["text"]["text"], e["action_id"]) for e in actions["elements"]] == [
        ("Keep waiting", "step.keep_waiting"),
        ("Cancel", "step.cancel"),
        ("Mark done…", "step.done_with_note"),
    ]
    assert "terminates the running syncs in ArgoCD" in str(actions["elements"][1]["confirm"])
    assert ":hourglass_flowing_sand: *taking longer than expected*" in str(blocks)


def test_approve_waits_for_the_preview() -> None:
    """A step with a preview awaiting approval: no Approve until the preview is there."""
    run = started(site="summit")
    sync = run.step("sync")
    assert sync is not None
    state = sync.model_copy(update={"status": StepStatus.AWAITING_APPROVAL})
    site = default_sites()["summit"]
    _, preparing = step_message(run, state, site, None)
    _, previewed = step_message(run, state, site, "the diff")
    actions = [str(b) for b in preparing if b["type"] == "actions"]
    assert "Preparing the preview" in str(preparing)
    assert "step.approve" not in str(actions)
    assert "step.skip" in str(actions)
    assert "step.approve" in str(previewed)
    assert "Preparing the preview" not in str(previewed)


def test_outside_and_user_text_is_escaped_and_people_named() -> None:
    """An error, a reason, issues and progress shown inert; who by name, not mention."""
    run = started(site="summit").model_copy(update={"names": {"U_LEAD": "ana <b>"}})
    state = run.steps[0].model_copy(
        update={
            "status": StepStatus.FAILED,
            "outcome": "<!channel> failed & <@U_OTHER>",
            "issues": ("<!here> ATDome:0",),
            "reason": "<!subteam^S1>",
            "ended_by": "U_LEAD",
        }
    )
    _, blocks = step_message(run, state, default_sites()["summit"], "<@U_X> 41/57")
    shown = str(blocks)
    for live in ("<!channel>", "<!here>", "<@U_OTHER>", "<@U_X>", "<!subteam"):
        assert live not in shown
    assert "&lt;!channel&gt; failed &amp; &lt;@U_OTHER&gt;" in shown
    _, header = run_header(run, default_sites()["summit"], run.started_at)
    assert "Lead ana &lt;b&gt;" in str(header)
    assert "<@" not in str(header)
