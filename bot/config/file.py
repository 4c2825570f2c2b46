"""The configuration file (``UPGRADE_BOT_CONFIG``): sites, admins, who may start runs.

The embedded defaults (``bot/config/data/sites.yaml``) hold what the reference pages say of
each site; the file overrides them field by field. It holds no secret: an unknown key (a token
pasted by mistake) is refused, naming the key, and the tokens come from the environment only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config.sites import SiteConfig, default_site_fields, load_sites
from state.names import Site


class ConfigError(ValueError):
    """The configuration file cannot be used; the message names the file and the field."""


class BotConfig(BaseModel):
    """What the file may hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sites: dict[Site, dict[str, Any]] = Field(
        default_factory=dict, description="Per site, the fields that differ from the defaults."
    )
    admins: frozenset[str] = Field(
        default=frozenset(), description="Slack user ids who may take a run over."
    )
    starters: dict[Site, frozenset[str]] = Field(
        default_factory=dict, description="Per site, who may start runs (absent: anyone)."
    )


def load_config(path: Path | None) -> tuple[BotConfig, dict[Site, SiteConfig]]:
    """The file's settings and the sites (defaults overridden by the file)."""
    defaults = default_site_fields()
    if path is None:
        return BotConfig(), load_sites(defaults)
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
        config = BotConfig.model_validate(raw)
        overrides: dict[str, dict[str, Any]] = {str(k): v for k, v in config.sites.items()}
        merged = {name: {**fields, **overrides.get(name, {})} for name, fields in defaults.items()}
        return config, load_sites(merged)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise ConfigError(f"{path}: {problems}") from e
