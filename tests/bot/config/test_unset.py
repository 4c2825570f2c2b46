"""Nothing invented acts on a real site: unset facts, the steps done by hand, the names checked.

The reference pages give the sites' channels, clusters, bridges and ScriptQueues; they do not
give the configuration repositories, the summit's kept-ENABLED ESS indices, the bare-metal
services or the views' addresses. Those are configuration, unset until set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config.file import ConfigError, load_config
from bot.config.procedures import load_procedure
from bot.config.runs import nothing_to_do, procedure_problems, run_steps
from bot.config.sites import default_site_fields, default_sites, load_sites
from bot.config.unset import unset_in_runs
from bot.wiring.simulated import rehearsal_sites
from state.actions import GithubBranches, Manual, SshSystemctl
from state.procedure import parse_procedure
from tests.support.procedures import procedure

SYNC_TELESCOPE = """
  - id: sync-telescope
    title: Sync the telescope project
    phase: deployment
    needs_approval: true
    action:
      type: argocd.sync
      project: telescope
      first: {first}
      exclude: {exclude}
      timeout: 45m
"""


def test_the_defaults_guess_nothing_the_pages_do_not_give() -> None:
    """Unset by default: repositories and branch, the summit's kept CSCs, bare metal, links."""
    summit = default_sites()["summit"]
    assert summit.config_repos is None
    assert summit.config_branch is None
    assert summit.keep_enabled is None  # a list of ESS indices in the ops docs, not given
    assert summit.bare_metal is None
    assert summit.ess_controllers is None
    assert summit.links.summary_state is None
    assert "camera" not in summit.audiences
    assert default_sites()["tts"].keep_enabled == ("ESS:*", "Watcher:0")  # the ops docs


def test_what_each_site_leaves_unset_for_its_runs() -> None:
    """Listed per site for the steps its runs have: the needed ones first, each once."""
    procedure = load_procedure()
    summit = unset_in_runs(default_sites()["summit"], procedure)
    needed = [u.field for u in summit if u.needed]
    shown = [u.field for u in summit if not u.needed]
    assert needed == ["bare_metal", "config_repos", "config_branch", "keep_enabled"]
    assert shown == [
        "links.summary_state", "links.dashboards", "audiences.camera", "ess_controllers",
    ]  # fmt: skip
    tts = unset_in_runs(default_sites()["tts"], procedure)
    assert [u.field for u in tts if u.needed] == ["config_repos", "config_branch"]
    assert all("bare_metal" not in u.field and "ess" not in u.field for u in tts)


def test_a_real_run_does_by_hand_what_needs_an_unset_fact() -> None:
    """The steps whose automation needs an unset fact become manual, saying why and what."""
    procedure = load_procedure()
    steps = {s.id: s for s in run_steps(default_sites()["summit"], procedure.for_run(
        "summit", "cycle-upgrade"))}  # fmt: skip
    for step_id in ("bare-metal-shutdown", "bare-metal-startup", "config-branches",
                    "enable-kept-cscs"):  # fmt: skip
        step = steps[step_id]
        assert isinstance(step.action, Manual), step_id
        assert step.instructions.startswith("**Done by hand at this run**"), step_id
        assert "upgrade-bot config validate" in step.instructions
    assert "does not set bare_metal: the bare-metal T&S services" in (
        steps["bare-metal-shutdown"].instructions
    )
    assert steps["bare-metal-shutdown"].action.touches() == ("bare-metal",)  # still summit's
    assert "config_repos: the configuration repositories; config_branch" in (
        steps["config-branches"].instructions
    )
    # What the pages give runs as written.
    assert isinstance(steps["stop-camera-bridges"].action, SshSystemctl)


def test_a_rehearsal_runs_everything_on_the_simulated_stand_ins() -> None:
    """The simulated observatory's own values fill the gaps, so nothing is by hand there."""
    site = rehearsal_sites(default_sites())["summit"]
    steps = run_steps(site, load_procedure().for_run("summit", "cycle-upgrade"))
    assert isinstance(next(s for s in steps if s.id == "config-branches").action, GithubBranches)
    assert site.config_branch_of("c0042") == "c0042"
    assert site.bare_metal is not None
    assert site.bare_metal[0].host.endswith(".simulated")
    assert site.links.summary_state is None  # links are never made up, even here


def test_set_in_the_configuration_the_automation_runs(tmp_path: Path) -> None:
    """Once set, the step runs, the branch named as configured."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "sites:\n  tts:\n    config_repos: [lsst-ts/ts_config_ocs]\n"
        "    config_branch: 'cycle/{cycle}'\n"
    )
    _, sites = load_config(path)
    steps = run_steps(sites["tts"], load_procedure().for_run("tts", "cycle-upgrade"))
    assert isinstance(next(s for s in steps if s.id == "config-branches").action, GithubBranches)
    assert sites["tts"].config_branch_of("c0042") == "cycle/c0042"


def test_an_empty_kept_list_asks_no_approval_for_nothing() -> None:
    """``keep_enabled: []``: the enable step is left out of the run, saying why (waived)."""
    site = default_sites()["tts"].model_copy(update={"keep_enabled": ()})
    steps = load_procedure().for_run("tts", "cycle-upgrade")
    assert "enable-kept-cscs" in {s.id for s in steps}
    assert "enable-kept-cscs" not in {s.id for s in run_steps(site, steps)}
    assert nothing_to_do(site, steps) == (
        ("enable-kept-cscs", "tts keeps no CSC ENABLED at the end (keep_enabled: [])"),
    )
    assert nothing_to_do(default_sites()["tts"], steps) == ()


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        (
            {"ignore": ["MTM1M3:0", "mtm1m3ts"]},
            ("'MTM1M3:0': the script takes CSC names here, not instances (write MTM1M3); "
            "'mtm1m3ts' is not a CSC of ts_xml v28.0.1 (did you mean 'MTM1M3TS'?)"),
        ),
        ({"auto_enabled": ["HVAC:1"]}, "HVAC is not an indexed CSC, write HVAC (or HVAC:0)"),
        ({"auto_enabled": ["ScriptQueue:*"]}, "give one index here, not *"),
        ({"keep_enabled": ["ess:*"]}, "did you mean 'ESS'?"),
        ({"keep_enabled": ["Script:1"]}, "Script is a SAL component but not a CSC"),
        ({"principals": {"MTmount": "U01"}}, "did you mean 'MTMount'?"),
        ({"config_branch": "cycle/{cycle"}, "only {cycle} may be filled in"),
        ({"config_branch": "{ticket}"}, "only {cycle} may be filled in"),
        ({"links": {"dashboards": {"Heartbeat": "https://x/"}}}, "not a dashboard the page names"),
        ({"links": {"summary_state": "summit-lsp/love"}}, "is not a URL"),
    ],
    ids=[
        "ignore", "auto-index", "auto-star", "keep-case", "keep-script", "principal",
        "branch-brace", "branch-field", "dashboard-name", "summary-url",
    ],
)  # fmt: skip
def test_a_name_the_scripts_would_not_match_is_refused(
    tmp_path: Path, fields: dict[str, Any], says: str
) -> None:
    """``config validate`` refuses CSC names as the scripts would miss them, naming the site."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"sites": {"summit": fields}}))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert says in str(caught.value)
    assert f"summit.{next(iter(fields))}" in str(caught.value)


def test_the_shipped_procedure_fits_every_site() -> None:
    """The built-in procedure's first/exclude name apps each site has (Phalanx's lists)."""
    procedure = load_procedure()
    for site in default_sites().values():
        assert procedure_problems(site, procedure) == [], site.name


@pytest.mark.parametrize(
    ("first", "exclude", "says"),
    [
        (["lvoe"], [], ("action.first: 'lvoe' is not an application of project 'telescope' at "
         "tts (did you mean 'love'?)")),
        ([], ["rubin-too-producer"], ("action.exclude: 'rubin-too-producer' is not an "
         "application of project 'telescope' at tts (its apps: argo-workflows")),
    ],
    ids=["misspelt-first", "exclude-absent-here"],
)  # fmt: skip
def test_apps_of_first_and_exclude_are_the_sites(
    first: list[str], exclude: list[str], says: str
) -> None:
    """A misspelt ``first`` would be synced in the batch; an absent ``exclude`` is a mistake."""
    text = procedure("apps", SYNC_TELESCOPE.format(first=first, exclude=exclude))
    parsed = parse_procedure(text, "apps")
    found = [str(p) for p in procedure_problems(default_sites()["tts"], parsed)]
    assert len(found) == 1
    assert found[0].startswith(f"step 'sync-telescope', {says}")


def test_a_project_whose_apps_the_site_does_not_list() -> None:
    """first/exclude of a project the configuration does not list cannot be checked: said."""
    fields = default_site_fields()
    fields["tts"]["argocd_projects"] = {}
    site = load_sites(fields)["tts"]
    text = procedure("apps", SYNC_TELESCOPE.format(first=["love"], exclude=[]))
    found = procedure_problems(site, parse_procedure(text, "apps"))
    assert [str(p) for p in found] == [
        (
            "step 'sync-telescope', action.project: the tts configuration does not list project "
            "'telescope''s applications (argocd_projects), so first and exclude cannot be checked"
        )
    ]
