"""The configuration file, the app manifest, the settings' secrets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.config.file import ConfigError, load_config
from bot.config.procedures import load_procedure
from bot.config.runs import run_steps
from bot.config.settings import Settings
from bot.config.sites import default_site_fields, load_sites
from bot.engine.engine import Engine
from integrations.clock import WallClock
from state.actions import EfdWaitForStates

ROOT = Path(__file__).parents[3]


def test_the_example_configuration_loads_over_the_defaults() -> None:
    """examples/config.yaml is valid; what it sets wins, the rest keeps the defaults."""
    config, sites = load_config(ROOT / "examples" / "config.yaml")
    assert "U01ABCDEF01" in config.admins
    assert config.starters["summit"] == frozenset({"U01ABCDEF01", "U01ABCDEF02", "U01ABCDEF03"})
    assert sites["summit"].bare_metal is None  # commented out there: unset, never a guess
    assert sites["summit"].cluster == "yagan"  # not in the file: the default
    assert sites["summit"].principals["MTMount"] == "U01MTMOUNT01"
    assert sites["bts"].scriptqueues == (1, 2)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("slack_bot_token: xoxb-123\n", "slack_bot_token: Extra inputs are not permitted"),
        ("sites: {moon: {channel: '#x'}}\n", "sites.moon.[key]"),
        ("sites: {summit: {scriptqueues: many}}\n", "scriptqueues"),
        ("admins: [\n", "not valid YAML"),
    ],
)
def test_a_bad_configuration_is_refused_naming_the_field(
    tmp_path: Path, text: str, words: str
) -> None:
    """A secret pasted in, an unknown site, a bad value, broken YAML: a clear error."""
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(str(path))
    assert words in str(error.value)


def test_a_missing_configuration_file_is_named(tmp_path: Path) -> None:
    """A path that does not exist is named in the error."""
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_secrets_come_from_the_environment_and_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tokens are SecretStr: read from the environment, shown as stars."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh-signing")
    settings = Settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-very-secret"
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert "very-secret" not in shown
    assert "shh-signing" not in shown


def test_the_manifest_declares_what_the_bot_uses() -> None:
    """manifest.yml: /upgrade, interactivity, App Home, Socket Mode, only the needed scopes."""
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    features = manifest["features"]
    (command,) = features["slash_commands"]
    assert command["command"] == "/upgrade"
    assert command["should_escape"] is True
    assert features["app_home"]["home_tab_enabled"] is True
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "channels:read", "chat:write", "chat:write.public", "commands", "groups:read", "im:write",
    ]  # fmt: skip


def test_a_site_sets_its_own_watch_deadline_and_a_typo_is_refused() -> None:
    """``deadlines``: the run's watch step carries the site's deadline; an unknown id stops."""
    procedure = load_procedure()
    fields = default_site_fields()
    fields["tts"]["deadlines"] = {"verify-end-states": "45m"}
    sites = load_sites(fields)
    steps = run_steps(sites["tts"], procedure.for_run("tts", "cycle-upgrade"))
    deadlines = {s.id: s.action.deadline for s in steps if isinstance(s.action, EfdWaitForStates)}
    assert deadlines == {
        "verify-offline": timedelta(minutes=10), "verify-end-states": timedelta(minutes=45),
    }  # fmt: skip
    fields["bts"]["deadlines"] = {"verify-end-state": "45m"}
    sites = load_sites(fields)
    with pytest.raises(
        ValueError, match="bts configuration's deadlines name 'verify-end-state', not a watch step"
    ):
        Engine(store=None, procedure=procedure, sites=sites, systems={}, clock=WallClock())  # type: ignore[arg-type]  # refused before the store is used
