"""The real clients of a site, built from its configuration and the environment's secrets.

Non-secret facts (URLs, users, the cluster's API server, known_hosts) are in the site's
configuration (``endpoints``); the secrets come from the environment
(:mod:`bot.wiring.secrets`), and a site that lacks any is refused, naming what it lacks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.config.sites import SiteConfig
from bot.engine.runners import SiteSystems
from bot.wiring.secrets import SharedSecrets, SiteSecrets, missing
from integrations.announce import Announcer
from integrations.argocd import ArgoCDClient
from integrations.efd import EfdClient
from integrations.github import GitHubClient
from integrations.kube import KubeCluster
from integrations.love import LoveClient
from integrations.ssh import SshHosts


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
