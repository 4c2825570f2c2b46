"""The registry of action types a procedure step may run, with their typed parameters.

Each action type is one pydantic model, told apart by its ``type`` field (``love.run_script``
additionally by its ``script``, so that the two standard scripts the page uses get their real
configuration schema checked). Parameters that depend on the site (which hosts, which
ScriptQueues, which CSCs to leave up) are *not* written here: the procedure names them
symbolically (``hosts: camera-bridges``, ``targets: scriptqueues``) and the engine resolves them
from the site's configuration, so one procedure file serves the three sites. The bases they
share are in :mod:`state.action_base`; the camera start-up's own types in
:mod:`state.camera_actions`.

Two class-level facts drive the safety rules in :mod:`state.rules`:

- ``changes_observatory()``: the action changes something real (sends CSCs commands, stops
  services, deletes, syncs, merges). Such a step must ask the lead's approval: the page says no
  one does anything without the lead's express consent.
- ``systems``: what the action touches, shown to the lead and used to keep summit-only steps
  (bare metal, ESS controllers) away from the test stands.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from state.action_base import (
    SLUG,
    Automated,
    BaseAction,
    Patient,
    System,
)
from state.camera_actions import CcsSetAvailable, LoveEnterControl
from state.duration import Duration
from state.scripts import SetSummaryStateConfig, SystemWideShutdownConfig


class Manual(BaseAction):
    """A person does this step; it ends when the lead presses "Mark done"."""

    type: Literal["manual"]
    checklist: tuple[str, ...] = Field(
        default=(), description="Things to tick off, shown as a list under the instructions."
    )
    touching: tuple[System, ...] = Field(
        default=(),
        description=(
            "The systems the person works on (summit-only systems keep the step at the summit)."
        ),
    )

    def touches(self) -> tuple[System, ...]:
        """A manual step touches what its author says it does."""
        return self.touching


class PreflightCheck(Automated):
    """Read-only check that the bot reaches every integration of the site."""

    type: Literal["preflight.check"]
    systems: ClassVar[tuple[System, ...]] = (
        "love",
        "efd",
        "camera-bridges",
        "kubernetes",
        "github",
        "argocd",
        "slack",
    )


class HoldOption(BaseModel):
    """The lead may hold the announcement back for a window (integration testing goes on)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(
        default="Continue integration testing", min_length=1, description="The button."
    )
    window: Duration = Field(
        default="2h", validate_default=True, description="The window offered first."
    )


PLACEHOLDERS = frozenset({"site", "kind", "cycle", "lead", "control_system"})
"""What an announcement's message may name, filled in when it is posted."""


class Announce(Automated):
    """Post an announcement (once: its key is recorded) to the site channel and its audiences."""

    type: Literal["announce"]
    key: str = Field(
        pattern=SLUG, description="Unique per procedure; the announcement is made once."
    )
    message: str = Field(
        min_length=1,
        description="Markdown; {site}, {kind}, {cycle}, {lead} are filled in when posted, and "
        "{control_system}: whether the control system is back, from the run's end-state watch "
        "(or which CSCs are still in trouble, or waiting on the camera team, and who was told).",
    )
    audiences: tuple[str, ...] = Field(
        default=(),
        description="Configured audiences also told (e.g. camera): extra channels and user groups.",
    )
    acknowledge: bool = Field(
        default=False, description="Offer the audience a button to acknowledge (records who, when)."
    )
    hold: HoldOption | None = Field(
        default=None,
        description="Offer the lead to hold it back for a window, then remind them (needs "
        "needs_approval: the step waits for the lead's choice).",
    )
    hands_over_cameras: bool = Field(
        default=False,
        description="From this announcement on, the camera CSCs are the camera team's until they "
        "come up (Stage 2 of a cycle upgrade): the end-state watch shows them as waiting on the "
        "camera team, apart from the CSCs in trouble.",
    )
    timeout: Duration = Field(
        default="5m",
        validate_default=True,
        description="Several channels, each post may wait out Slack's Retry-After when limited.",
    )
    systems: ClassVar[tuple[System, ...]] = ("slack",)

    @field_validator("message")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        unknown = set(re.findall(r"\{([^{}]*)\}", value)) - PLACEHOLDERS
        if unknown:
            raise ValueError(f"unknown placeholder(s): {', '.join(sorted(unknown))}")
        return value


class _LoveScript(Automated):
    type: Literal["love.run_script"]
    queue: int = Field(
        default=1, ge=1, description="ScriptQueue index (1 MainTel, 2 AuxTel, 3 OCS)."
    )
    standard: bool = Field(default=True, description="A standard (not external) script.")
    systems: ClassVar[tuple[System, ...]] = ("love",)
    changes: ClassVar[bool] = True


class RunShutdownScript(_LoveScript):
    """Queue ``system_wide_shutdown.py`` through LOVE and follow it to the end."""

    script: Literal["system_wide_shutdown.py"]
    config: SystemWideShutdownConfig = SystemWideShutdownConfig()

    def sends_offline(self) -> bool:
        """The shutdown script sends every running CSC not ignored OFFLINE."""
        return True

    def changes_csc_states(self) -> bool:
        """It commands CSC states."""
        return True


class RunSetSummaryState(_LoveScript):
    """Queue ``set_summary_state.py`` through LOVE and follow it to the end."""

    script: Literal["set_summary_state.py"]
    config: SetSummaryStateConfig

    @model_validator(mode="after")
    def _running_queue_last(self) -> RunSetSummaryState:
        # The queue that runs the script cannot outlive its own OFFLINE command.
        own = f"ScriptQueue:{self.queue}"
        names = [entry[0] for entry in self.config.data]
        if own in names and names[-1] != own:
            raise ValueError(f"{own} runs this script, so it must be the last entry of data")
        return self

    def sends_offline(self) -> bool:
        """Whether any target goes OFFLINE."""
        return "OFFLINE" in self.config.states_sent()

    def is_scriptqueue_shutdown(self) -> bool:
        """The ScriptQueues step: only ScriptQueues, sent OFFLINE."""
        return self.config.only_scriptqueues() and self.config.states_sent() == {"OFFLINE"}

    def proposes_targets(self) -> bool:
        """The stragglers step: the CSCs still up are read and proposed to the lead."""
        return self.config.targets == "stragglers"

    def changes_csc_states(self) -> bool:
        """It commands CSC states."""
        return True


class RunOtherScript(_LoveScript):
    """Queue any other script with a configuration given as is (not checked by the bot)."""

    script: str = Field(
        min_length=1,
        pattern=r"^[\w./-]+\.py$",
        # The known scripts have their own, typed branch: say so, or editors see two matches.
        json_schema_extra={"not": {"enum": ["system_wide_shutdown.py", "set_summary_state.py"]}},
    )
    config: dict[str, Any] = Field(default_factory=dict)


LoveCommandName = Literal["enterControl", "start", "enable", "disable", "standby", "exitControl"]


class LoveCommand(Automated):
    """Send one SAL command to one CSC through the LOVE manager (``POST /manager/api/cmd/``)."""

    type: Literal["love.command"]
    csc: str = Field(pattern=r"^[A-Z][A-Za-z0-9_]*$")
    index: int = Field(default=0, ge=0)
    command: LoveCommandName
    params: dict[str, Any] = Field(default_factory=dict)
    systems: ClassVar[tuple[System, ...]] = ("love",)
    changes: ClassVar[bool] = True

    def sends_offline(self) -> bool:
        """``exitControl`` takes a CSC from STANDBY to OFFLINE."""
        return self.command == "exitControl"

    def is_scriptqueue_shutdown(self) -> bool:
        """A direct ``exitControl`` to a ScriptQueue takes it OFFLINE."""
        return self.csc == "ScriptQueue" and self.command == "exitControl"

    def changes_csc_states(self) -> bool:
        """State commands change CSC states."""
        return True


class EfdWaitForStates(BaseAction):
    """Watch the EFD until the CSCs that were running are where they should be, or the deadline.

    ``offline``: silent (no heartbeat) counts as OFFLINE. ``end-states``: STANDBY by default,
    the site's auto-enabled CSCs ENABLED, its ignore list untouched. At the deadline the step
    ends "done with N in trouble", naming them.
    """

    type: Literal["efd.wait_for_states"]
    expect: Literal["offline", "end-states"]
    deadline: Duration = Field(description="After this, the step ends naming the CSCs in trouble.")
    poll: Duration = Field(default="10s", validate_default=True)
    systems: ClassVar[tuple[System, ...]] = ("efd",)

    def survives_restart(self) -> bool:
        """It only reads the EFD: after a restart it goes on watching, to the same deadline."""
        return True


class SshSystemctl(Automated):
    """``sudo systemctl stop|start <unit>`` on a group of the site's hosts, then confirm."""

    type: Literal["ssh.systemctl"]
    hosts: Literal["camera-bridges", "bare-metal"]
    verb: Literal["stop", "start"]
    changes: ClassVar[bool] = True

    def touches(self) -> tuple[System, ...]:
        """The host group is the system."""
        return (self.hosts,)

    def starts_cscs(self) -> bool:
        """Starting the camera bridges brings the camera CSCs back."""
        return self.verb == "start"


class KubeCleanup(Automated):
    """What lsst-ts/k8s-admin's ``cleanup_all`` or ``cleanup_nublado`` does, through the API."""

    type: Literal["kube.cleanup"]
    scope: Literal["all", "nublado"]
    daemonsets: bool = Field(default=False, description="Also the ospl-daemon DaemonSets (-d).")
    changes: ClassVar[bool] = True

    def touches(self) -> tuple[System, ...]:
        """Nublado cleanup touches Nublado as well as the cluster."""
        return ("kubernetes", "nublado") if self.scope == "nublado" else ("kubernetes",)


class KubePrepull(Automated):
    """Pull the new cycle's images onto every node during the shutdown, in the background.

    The step reads the images of every application the run will sync (ArgoCD's manifests at
    the run's Phalanx branch) and shows them to the lead; approved, it creates a DaemonSet in
    the site's pre-pull namespace (one init container per image, a ``pause`` container) and
    ends: the bot follows the pods in the background, names the images that cannot be pulled
    (and replaces the DaemonSet without them: the deployment pulls those itself), and removes
    the DaemonSet once every node has every image, after ``follow``, or at the lead's word.
    Nothing waits on it: the sync steps run whatever the pre-pull does. Runs only at a site
    whose configuration enables it (``prepull``); elsewhere the step is left out of the run.
    """

    type: Literal["kube.prepull"]
    timeout: Duration = Field(
        default="10m", validate_default=True, description="Reading the images, creating the set."
    )
    follow: Duration = Field(
        default="3h",
        validate_default=True,
        description="After this the DaemonSet is removed, whatever it pulled (the deployment "
        "pulls the rest).",
    )
    poll: Duration = Field(default="30s", validate_default=True, description="How often.")
    give_up: Duration = Field(
        default="2m",
        validate_default=True,
        description="An image failing this long is left to the deployment: the DaemonSet is "
        "replaced without it (it holds the images after it on the node).",
    )
    changes: ClassVar[bool] = True
    systems: ClassVar[tuple[System, ...]] = ("kubernetes", "argocd")


class GithubPullRequest(Patient):
    """The run's Phalanx branch, its pull request and checks; merged (by the bot if opted in).

    Patient: people review and merge it; past ``expected`` the lead is told and chooses.
    """

    type: Literal["github.pull_request"]
    repo: str = Field(default="lsst-sqre/phalanx", pattern=r"^[\w.-]+/[\w.-]+$")
    merge: bool = Field(
        default=False, description="Merge it from the bot (needs the site's opt-in)."
    )
    poll: Duration = Field(
        default="1m",
        validate_default=True,
        description="How often an open pull request is read (people merge it, not the bot).",
    )
    systems: ClassVar[tuple[System, ...]] = ("github",)

    def changes_observatory(self) -> bool:
        """Only merging changes something (a protected branch)."""
        return self.merge


class GithubBranches(Automated):
    """Each configured configuration repository has the run's branch pushed."""

    type: Literal["github.branches"]
    systems: ClassVar[tuple[System, ...]] = ("github",)


class ArgocdSync(Patient):
    """Sync ArgoCD applications and wait until each is Synced and Healthy.

    Patient: the page says to be patient with container pulling, so a sync past ``expected``
    is never terminated by the bot; the lead is told what each app's pods are doing.

    Either ``apps`` (in that order) or a ``project`` (all its apps: ``first`` one by one in
    that order, then the rest ``parallel`` at a time, minus ``exclude``).
    """

    type: Literal["argocd.sync"]
    apps: tuple[str, ...] = ()
    project: str | None = None
    first: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    parallel: int = Field(default=4, ge=1, le=32)
    prune: bool = False
    show_diff: bool = Field(default=False, description="Show the out-of-sync resources first.")
    poll: Duration = Field(
        default="10s", validate_default=True, description="How often a syncing app is read."
    )
    changes: ClassVar[bool] = True
    systems: ClassVar[tuple[System, ...]] = ("argocd",)

    def starts_cscs(self) -> bool:
        """Syncing a project (``telescope``) deploys the CSCs, which come up by themselves."""
        return self.project is not None

    @model_validator(mode="after")
    def _apps_xor_project(self) -> ArgocdSync:
        if bool(self.apps) == (self.project is not None):
            raise ValueError("give either apps or project, not both or neither")
        if self.project is None and (self.first or self.exclude):
            raise ValueError("first and exclude go with project")
        return self


ACTION_TAGS = {
    "manual": Manual,
    "preflight.check": PreflightCheck,
    "announce": Announce,
    "love.run_script": RunOtherScript,
    "love.run_script/system_wide_shutdown.py": RunShutdownScript,
    "love.run_script/set_summary_state.py": RunSetSummaryState,
    "love.command": LoveCommand,
    "efd.wait_for_states": EfdWaitForStates,
    "ssh.systemctl": SshSystemctl,
    "kube.cleanup": KubeCleanup,
    "kube.prepull": KubePrepull,
    "github.pull_request": GithubPullRequest,
    "github.branches": GithubBranches,
    "argocd.sync": ArgocdSync,
    "ccs.set_available": CcsSetAvailable,
    "love.enter_control": LoveEnterControl,
}
"""Every action type by tag; ``love.run_script`` is split by script so known scripts are typed."""

ACTION_TYPES = sorted({tag.split("/")[0] for tag in ACTION_TAGS})


def _action_tag(value: Any) -> str | None:  # noqa: ANN401  # pydantic hands raw input or models
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if kind == "love.run_script":
        script = value.get("script") if isinstance(value, dict) else getattr(value, "script", None)
        if f"{kind}/{script}" in ACTION_TAGS:
            return f"{kind}/{script}"
    return kind if isinstance(kind, str) else None


Action = Annotated[
    Annotated[Manual, Tag("manual")]
    | Annotated[PreflightCheck, Tag("preflight.check")]
    | Annotated[Announce, Tag("announce")]
    | Annotated[RunOtherScript, Tag("love.run_script")]
    | Annotated[RunShutdownScript, Tag("love.run_script/system_wide_shutdown.py")]
    | Annotated[RunSetSummaryState, Tag("love.run_script/set_summary_state.py")]
    | Annotated[LoveCommand, Tag("love.command")]
    | Annotated[EfdWaitForStates, Tag("efd.wait_for_states")]
    | Annotated[SshSystemctl, Tag("ssh.systemctl")]
    | Annotated[KubeCleanup, Tag("kube.cleanup")]
    | Annotated[KubePrepull, Tag("kube.prepull")]
    | Annotated[GithubPullRequest, Tag("github.pull_request")]
    | Annotated[GithubBranches, Tag("github.branches")]
    | Annotated[ArgocdSync, Tag("argocd.sync")]
    | Annotated[CcsSetAvailable, Tag("ccs.set_available")]
    | Annotated[LoveEnterControl, Tag("love.enter_control")],
    Discriminator(
        _action_tag,
        custom_error_type="unknown_action",
        custom_error_message=f"unknown action type; known: {', '.join(ACTION_TYPES)}",
    ),
]
"""One step's action: any of the registry's types, told apart by ``type`` (and ``script``)."""
