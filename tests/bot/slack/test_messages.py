"""A run's messages as Block Kit, within Slack's limits."""

from __future__ import annotations

from bot.config.procedures import load_procedure
from bot.config.sites import default_sites
from bot.slack.blocks import MAX_BLOCKS, SECTION
from bot.slack.messages import step_message
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
    assert links(run, "sync-telescope") == (
        f"<{argocd}/applications?proj=telescope|ArgoCD project telescope>"
    )
    assert links(run, "phalanx-pr") == (
        "<https://github.com/lsst-sqre/phalanx/pulls?q=is:pr%20head:tickets/DM-1"
        "|pull requests from tickets/DM-1>"
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
