"""What the bot knows of each site: hosts, units, ScriptQueues, CSCs that stay up or come up.

The procedure names these symbolically (``hosts: camera-bridges``, ``targets: scriptqueues``)
and the engine resolves them here, so one procedure serves the three sites. The embedded
defaults (``bot/config/data/sites.yaml``) hold what the reference pages say of each site; a site's
configuration file overrides them field by field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from integrations.ssh import Unit
from state.duration import Duration
from state.names import SITES, Site
from state.subsystems import name_problem, names_problem, ref_problem

DASHBOARDS = (
    "Heartbeats",
    "AT Summary State Monitor",
    "MT Summary State Monitor",
    "Envsys Summary State Monitor",
    "Calibration Systems Summary State Monitor",
    "Observatory Systems Summary State Monitor",
)
"""The Chronograf dashboards the page names ("the names are the same across sites")."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraBridge(_Model):
    """The OCS bridge of one camera on its mcm machine."""

    camera: str = Field(description="The camera CSC (ATCamera, MTCamera, CCCamera).")
    host: str
    unit: str = Field(description="The systemd unit of the bridge.")


class ServiceUnit(_Model):
    """A systemd service on a machine outside Kubernetes."""

    host: str
    unit: str


class Endpoints(_Model):
    """How the real clients reach the site's systems (no secrets: those are in the environment).

    LOVE, the EFD and ArgoCD live under ``https://<fqdn>/`` (``/love``, ``/influxdb``,
    ``/argo-cd``) unless a URL here says otherwise; the Kubernetes API server and the SSH trust
    are per site.
    """

    love_username: str = Field(default="upgrade-bot", description="A LOVE user who may command.")
    efd_username: str | None = Field(default="upgrade-bot", description="A read-only EFD user.")
    efd_database: str = "efd"
    kube_api: str | None = Field(
        default=None, description="The API server URL of the site's cluster (required)."
    )
    kube_ca_file: Path | None = Field(default=None, description="The cluster's CA certificate.")
    kube_identity_label: str | None = Field(
        default="upgrade-bot.lsst.io/cluster",
        description="Label on kube-system whose value must be the site's cluster name.",
    )
    kube_cluster_uid: str | None = Field(
        default=None, description="metadata.uid of kube-system, if ops pin it too."
    )
    ssh_user: str = Field(default="upgrade-bot", description="Login on the mcm/bare-metal hosts.")
    known_hosts: Path | None = Field(
        default=None, description="known_hosts with the hosts' keys (required: keys are verified)."
    )
    github_api: str = "https://api.github.com"
    love_url: str | None = Field(
        default=None, description="LOVE's root if not https://<fqdn>/love."
    )
    efd_url: str | None = Field(
        default=None,
        description="The EFD's InfluxDB HTTP API if not https://<fqdn>/influxdb (the summit's "
        "EFD may be served elsewhere: ask the EFD team).",
    )
    argocd_url: str | None = Field(
        default=None, description="ArgoCD's root if not https://<fqdn>/argo-cd."
    )
    ssh_addresses: dict[str, str] = Field(
        default_factory=dict,
        description="Where a host is reached if not at its name on port 22 (a forwarded port): "
        "host -> address[:port], [v6-address]:port; the host key checked is still the host's.",
    )

    def ssh_address(self, host: str) -> tuple[str, int] | None:
        """``(address, port)`` of a host reached elsewhere than ``host:22``, if configured."""
        where = self.ssh_addresses.get(host)
        return None if where is None else _address(where)

    @field_validator("ssh_addresses")
    @classmethod
    def _parsed(cls, value: dict[str, str]) -> dict[str, str]:
        for host, where in value.items():
            try:
                _address(where)
            except ValueError as e:
                raise ValueError(f"{host}: {e}") from e
        return value


def _address(where: str) -> tuple[str, int]:
    """``address[:port]`` or ``[v6-address]:port`` as (address, port); port 22 if none."""
    if where.startswith("["):  # [2001:db8::1]:2222
        address, _, port = where[1:].partition("]:")
    else:
        address, colon, port = where.rpartition(":")
        if not colon or ":" in address:  # no port, or a bare IPv6 address
            return where, 22
    if not port.isdigit():
        raise ValueError(f"{where!r} is not address[:port]")
    return address, int(port)


class Links(_Model):
    """Where a person looks by hand. The page names the views; their addresses it does not give.

    Unset, a step's message names the view without a link (never a made-up address).
    """

    summary_state: str | None = Field(
        default=None, description="LOVE's Summary state view (its full URL at this site)."
    )
    dashboards: dict[str, str] = Field(
        default_factory=dict,
        description="Chronograf dashboard (one of the page's names) -> its URL at this site.",
    )

    @field_validator("summary_state")
    @classmethod
    def _summary_url(cls, value: str | None) -> str | None:
        if value is not None:
            _url(value)
        return value

    @field_validator("dashboards")
    @classmethod
    def _page_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if name not in DASHBOARDS:
                raise ValueError(
                    f"{name!r} is not a dashboard the page names: {', '.join(DASHBOARDS)}"
                )
            _url(url)
        return value


def _url(value: str) -> None:
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"{value!r} is not a URL (https://...)")


def _problems(values: Sequence[str], check: Callable[[str], str | None]) -> None:
    """Raise naming every value ``check`` finds a problem with."""
    found = [problem for value in values if (problem := check(value))]
    if found:
        raise ValueError("; ".join(found))


class Audience(_Model):
    """Who else hears an announcement: extra channels and Slack user groups to mention."""

    channels: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


class Prepull(_Model):
    """The pre-pull of the new cycle's images (``kube.prepull``): off unless a site enables it.

    The namespace is one the bot owns, with a Role granting it ``create, get, update, delete``
    on ``daemonsets`` (apps) and ``get, list`` on ``pods`` there (docs/prepull.md);
    ``upgrade-bot check`` asks the API server whether it has them. The images are configuration
    too: the site's nodes must be able to pull them (a mirror, if they cannot reach Docker Hub).
    """

    enabled: bool = Field(default=False, description="Run the pre-pull step at this site.")
    namespace: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="The namespace the bot owns for it (required to enable it).",
    )
    name: str = Field(
        default="upgrade-bot-prepull",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="The DaemonSet's name.",
    )
    pause_image: str = Field(
        default="registry.k8s.io/pause:3.10", description="The main container: does nothing."
    )
    noop_image: str = Field(
        default="docker.io/library/busybox:1.37",
        description="Lends its static busybox to the init containers (their no-op).",
    )

    @model_validator(mode="after")
    def _namespace_when_enabled(self) -> Prepull:
        if self.enabled and self.namespace is None:
            raise ValueError("an enabled pre-pull needs its namespace (one the bot owns)")
        return self


class SiteConfig(_Model):
    """One site."""

    name: Site
    title: str = Field(
        description="How people call it: Summit, Tucson test stand, Base test stand."
    )
    phalanx_env: str = Field(
        description="The Phalanx environment (summit, tucson-teststand, base)."
    )
    fqdn: str = Field(description="LOVE, ArgoCD and the EFD live under https://<fqdn>/.")
    timezone: str = Field(description="The site's local time zone, for reports.")
    channel: str = Field(
        description="The site's Slack channel, where its runs are driven: its id (C0123ABC, "
        "stays right when the channel is renamed) or its name (#summit-announce), which the "
        "bot binds to its id at start-up."
    )
    cluster: str = Field(description="What identifies the site's Kubernetes cluster.")
    scriptqueues: tuple[int, ...] = Field(description="The site's ScriptQueue indices.")
    ignore: tuple[str, ...] = Field(
        default=(),
        description="CSCs left as they are through the shutdown (system_wide_shutdown ignore).",
    )
    auto_enabled: tuple[str, ...] = Field(
        default=(), description="CSCs (Name:index) that come up ENABLED by themselves."
    )
    keep_enabled: tuple[str, ...] | None = Field(
        default=None,
        description="CSCs (Name:index or Name:*) enabled at the end of the run. Unset: the "
        "enable step is done by hand.",
    )
    camera_bridges: tuple[CameraBridge, ...] = ()
    bare_metal: tuple[ServiceUnit, ...] | None = Field(
        default=None,
        description="The T&S services on bare metal (summit). Unset: their steps are done by hand.",
    )
    ess_controllers: tuple[ServiceUnit, ...] | None = Field(
        default=None,
        description="The ESS controllers' hosts and units (summit), shown with their step.",
    )
    config_repos: tuple[str, ...] | None = Field(
        default=None,
        description="Configuration repositories (owner/name) whose run branch must be pushed. "
        "Unset: the check is done by hand.",
    )
    config_branch: str | None = Field(
        default=None,
        description="Their branch, with {cycle} for the run's cycle tag (e.g. 'cycle/{cycle}').",
    )
    argocd_projects: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="The applications of each ArgoCD project at this site (Phalanx's "
        "environments/values-<env>.yaml); a procedure's first and exclude are checked "
        "against them.",
    )
    links: Links = Field(default_factory=Links)
    audiences: dict[str, Audience] = Field(default_factory=dict)
    principals: dict[str, str] = Field(
        default_factory=dict, description="CSC name -> the system principal to contact."
    )
    deadlines: dict[str, Duration] = Field(
        default_factory=dict,
        description="Per watch step id (efd.wait_for_states), this site's deadline instead of "
        "the procedure's (30m for the end states).",
    )
    remind_after: Duration = Field(
        default="20m",
        validate_default=True,
        description="A step waiting on the lead this long gets one reminder in its thread.",
    )
    idle_after: Duration = Field(
        default="2h",
        validate_default=True,
        description="An open run with nothing happening this long is flagged idle.",
    )
    downtime_poll: Duration = Field(
        default="30s",
        validate_default=True,
        description="How often the EFD is read during the downtime for CSCs beating again.",
    )
    endpoints: Endpoints = Field(default_factory=Endpoints)
    prepull: Prepull = Field(default_factory=Prepull)

    @field_validator("ignore")
    @classmethod
    def _script_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _problems(value, names_problem)  # as system_wide_shutdown.py matches them
        return value

    @field_validator("auto_enabled")
    @classmethod
    def _instances(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _problems(value, lambda ref: ref_problem(ref, any_index=False))
        return value

    @field_validator("keep_enabled")
    @classmethod
    def _targets(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        _problems(value or (), ref_problem)  # set_summary_state.py's data: Name[:index|*]
        return value

    @field_validator("principals")
    @classmethod
    def _principal_cscs(cls, value: dict[str, str]) -> dict[str, str]:
        _problems(list(value), name_problem)
        return value

    @field_validator("config_branch")
    @classmethod
    def _branch_template(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.format(cycle="0")
            except (KeyError, IndexError, ValueError) as e:
                raise ValueError(f"{value!r}: only {{cycle}} may be filled in ({e})") from e
        return value

    def recipients(self, audiences: Sequence[str]) -> tuple[list[str], list[str]]:
        """Where an announcement goes, and the user groups it mentions (each once, in order).

        The site channel first, then each audience's channels.
        """
        channels = [self.channel]
        groups: list[str] = []
        for name in audiences:
            audience = self.audiences.get(name)
            if audience is not None:
                channels += [c for c in audience.channels if c not in channels]
                groups += [g for g in audience.groups if g not in groups]
        return channels, groups

    def bridge_units(self) -> tuple[Unit, ...]:
        """The camera bridges as units to stop and start."""
        return tuple(Unit(b.host, b.unit) for b in self.camera_bridges)

    def bare_metal_units(self) -> tuple[Unit, ...]:
        """The bare-metal services as units to stop and start (none while unset)."""
        return tuple(Unit(s.host, s.unit) for s in self.bare_metal or ())

    def config_branch_of(self, cycle: str) -> str | None:
        """The configuration repositories' branch for a run of ``cycle`` (None while unset)."""
        return None if self.config_branch is None else self.config_branch.format(cycle=cycle)

    @property
    def love_url(self) -> str:
        """LOVE's root (the client's base URL, and links)."""
        return self.endpoints.love_url or f"https://{self.fqdn}/love"

    @property
    def efd_url(self) -> str:
        """The EFD's InfluxDB HTTP API."""
        return self.endpoints.efd_url or f"https://{self.fqdn}/influxdb"

    @property
    def argocd_url(self) -> str:
        """ArgoCD's root path."""
        return self.endpoints.argocd_url or f"https://{self.fqdn}/argo-cd"


_SITES = TypeAdapter(dict[str, SiteConfig])
"""Validates every site at once, so that an error's location starts with the site's name."""


def default_site_fields() -> dict[str, dict[str, Any]]:
    """The embedded defaults, as the mapping a configuration file overrides field by field."""
    text = resources.files("bot.config").joinpath("data", "sites.yaml").read_text("utf-8")
    fields: dict[str, dict[str, Any]] = yaml.safe_load(text)
    return fields


def default_sites() -> dict[Site, SiteConfig]:
    """The three sites as the reference pages describe them."""
    return load_sites(default_site_fields())


def load_sites(raw: dict[str, Any]) -> dict[Site, SiteConfig]:
    """Sites from a mapping of site name to fields (a configuration file's ``sites``)."""
    sites = _SITES.validate_python({name: {"name": name, **fields} for name, fields in raw.items()})
    missing = set(SITES) - set(sites)
    if missing:
        raise ValueError(f"no configuration for site(s): {', '.join(sorted(missing))}")
    return sites  # type: ignore[return-value]  # keys validated as Site by the model
