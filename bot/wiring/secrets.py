"""A site's secrets and what a real run of it lacks, apart from the clients that use them.

Each secret is an environment variable named for its site, ``UPGRADE_BOT_<SITE>_<NAME>``
(``UPGRADE_BOT_SUMMIT_LOVE_PASSWORD``...), read as ``SecretStr`` and never printed:
:func:`missing` names the variables that are not set, not their values. Apart from
``bot.wiring.real`` so that ``upgrade-bot config validate`` checks them without importing the
clients (the Kubernetes client alone takes a second to import).
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config.sites import SiteConfig


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
