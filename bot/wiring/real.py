"""The real clients of a site, built from its configuration and the environment's secrets.

Non-secret facts (URLs, users, the cluster's API server, known_hosts) are in the site's
configuration (``endpoints``); each secret is an environment variable named for its site,
``UPGRADE_BOT_<SITE>_<NAME>`` (``UPGRADE_BOT_SUMMIT_LOVE_PASSWORD``...), read as ``SecretStr``
and never printed: :func:`missing` names the variables that are not set, not their values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config.sites import SiteConfig
from bot.engine.runners import SiteSystems
from integrations.announce import Announcer
from integrations.argocd import ArgoCDClient
from integrations.efd import EfdClient
from integrations.github import GitHubClient
from integrations.kube import KubeCluster
from integrations.love import LoveClient
from integrations.ssh import SshHosts


class SiteSecrets(BaseSettings):
    """One site's secrets, from ``UPGRADE_BOT_<SITE>_*``."""

    model_config = SettingsConfigDict(extra="ignore")

    love_password: SecretStr | None = None
    efd_password: SecretStr | None = None
    argocd_token: SecretStr | None = None
    kube_token: SecretStr | None = None
    ssh_key: SecretStr | None = None
    ssh_key_passphrase: SecretStr | None = None

    @classmethod
    def of(cls, site: str) -> SiteSecrets:
        """Read the site's variables."""
        return cls(_env_prefix=prefix(site))


class SharedSecrets(BaseSettings):
    """Secrets every site uses: GitHub's token (``UPGRADE_BOT_GITHUB_TOKEN``)."""

    model_config = SettingsConfigDict(env_prefix="UPGRADE_BOT_", extra="ignore")

    github_token: SecretStr | None = None


def prefix(site: str) -> str:
    """``UPGRADE_BOT_SUMMIT_``."""
    return f"UPGRADE_BOT_{site.upper()}_"


REQUIRED = ("love_password", "argocd_token", "kube_token", "ssh_key")
"""Secrets a real run cannot do without (the EFD's only if it has a user: it may run open)."""


def missing(site: SiteConfig, secrets: SiteSecrets, shared: SharedSecrets) -> list[str]:
    """What a real run of ``site`` lacks, one line each (names only, never values)."""
    out = [
        f"{prefix(site.name)}{name.upper()} is not set"
        for name in REQUIRED
        if getattr(secrets, name) is None
    ]
    if shared.github_token is None:
        out.append("UPGRADE_BOT_GITHUB_TOKEN is not set")
    ends = site.endpoints
    if ends.efd_username is not None and secrets.efd_password is None:
        out.append(
            f"{prefix(site.name)}EFD_PASSWORD is not set (endpoints.efd_username is "
            f"{ends.efd_username!r}; set it to null for an EFD without authentication)"
        )
    if ends.kube_api is None:
        out.append("endpoints.kube_api: the API server of the site's cluster is not configured")
    if ends.known_hosts is None:
        out.append("endpoints.known_hosts: the hosts' keys are not configured")
    elif not ends.known_hosts.is_file():
        out.append(f"endpoints.known_hosts: {ends.known_hosts} does not exist")
    if ends.kube_identity_label is None and ends.kube_cluster_uid is None:
        out.append("endpoints: neither kube_identity_label nor kube_cluster_uid proves the cluster")
    return out


@dataclass
class RealSite:
    """A site's real clients, and how to close them."""

    systems: SiteSystems
    close: Callable[[], Awaitable[None]]


_T = TypeVar("_T")


class NotConfigured(ValueError):
    """A site lacks what its real clients need; the message lists it."""


def _need(value: _T | None) -> _T:
    """A value :func:`missing` has checked (typed as present from here on)."""
    if value is None:  # missing() refused this site already: only a bug gets here
        raise NotConfigured("a required setting is missing")
    return value


def real_site(site: SiteConfig, announcer: Announcer) -> RealSite:
    """The site's real clients (refused, listing what is missing, if anything is)."""
    secrets, shared = SiteSecrets.of(site.name), SharedSecrets()
    lacking = missing(site, secrets, shared)
    if lacking:
        raise NotConfigured(f"{site.name}: " + "; ".join(lacking))
    ends = site.endpoints
    love = LoveClient(
        url=site.love_url, username=ends.love_username, password=_need(secrets.love_password)
    )
    efd = EfdClient(
        url=site.efd_url,
        database=ends.efd_database,
        username=ends.efd_username,
        password=secrets.efd_password,
    )
    names = sorted({u.host for u in (*site.bridge_units(), *site.bare_metal_units())})
    hosts = SshHosts(
        hosts=names,
        addresses={h: where for h in names if (where := ends.ssh_address(h)) is not None},
        username=ends.ssh_user,
        client_key=_need(secrets.ssh_key),
        key_passphrase=secrets.ssh_key_passphrase,
        known_hosts=_need(ends.known_hosts),
    )
    cluster = KubeCluster(
        api_url=_need(ends.kube_api),
        cluster=site.cluster,
        token=secrets.kube_token,
        ca_file=ends.kube_ca_file,
        identity_label=ends.kube_identity_label,
        cluster_uid=ends.kube_cluster_uid,
    )
    github = GitHubClient(token=_need(shared.github_token), base_url=ends.github_api)
    argocd = ArgoCDClient(url=site.argocd_url, token=_need(secrets.argocd_token))
    systems = SiteSystems(
        love=love,
        efd=efd,
        hosts=hosts,
        cluster=cluster,
        github=github,
        argocd=argocd,
        announcer=announcer,
    )

    async def close() -> None:
        for client in (love, efd, cluster, github, argocd):
            await client.aclose()
        await hosts.cancel()

    return RealSite(systems, close)
