"""The real clients, built from a configuration and the environment.

What a run lacks, and ``upgrade-bot check`` reaching for each system (here: failing to, on
closed loopback ports; every client's own protocol is tested in tests/integrations).
"""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from bot.cli import main

SECRETS = {
    "UPGRADE_BOT_TTS_LOVE_PASSWORD": "love-pw-secret",
    "UPGRADE_BOT_TTS_ARGOCD_TOKEN": "argo-token-secret",
    "UPGRADE_BOT_TTS_KUBE_TOKEN": "kube-token-secret",
    "UPGRADE_BOT_TTS_EFD_PASSWORD": "efd-pw-secret",
    "UPGRADE_BOT_GITHUB_TOKEN": "gh-token-secret",
}


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def ssh_key() -> str:
    """An OpenSSH private key (ed25519) as text."""
    import asyncssh  # noqa: PLC0415  # only this helper needs it

    key = asyncssh.generate_private_key("ssh-ed25519")
    return key.export_private_key().decode()


def config(tmp_path: Path, port: int) -> Path:
    """TTS pointed at closed loopback ports, every other fact as for a real run."""
    known = tmp_path / "known_hosts"
    known.write_text(f"127.0.0.1 {HOST_KEY}\n")
    path = tmp_path / "config.yaml"
    path.write_text(f"""
sites:
  tts:
    fqdn: "127.0.0.1:{port}"
    camera_bridges:
      - {{camera: ATCamera, host: 127.0.0.1, unit: ats-ocs-bridge.service}}
    endpoints:
      kube_api: "https://127.0.0.1:{port}"
      known_hosts: {known}
      github_api: "http://127.0.0.1:{port}"
""")
    return path


def test_config_validate_names_what_is_missing_never_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Per site: ready, or the variables and fields missing; no secret is printed."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UPGRADE_BOT_TTS_SSH_KEY", ssh_key())
    out = io.StringIO()
    code = main(["config", "validate", str(config(tmp_path, closed_port()))], out=out)
    text = out.getvalue() + capsys.readouterr().err
    assert code == 1  # summit and bts lack everything
    assert "tts: ready for real runs" in text
    assert "UPGRADE_BOT_SUMMIT_LOVE_PASSWORD is not set" in text
    # What the reference pages do not give is listed per site, unset, never guessed.
    summit = text[text.index("summit:") : text.index("tts:")]
    assert (
        "  unset, done by hand until set:\n  - bare_metal: the bare-metal T&S services\n" in summit
    )
    assert "  - keep_enabled: the CSCs enabled at the end (ESS indices)\n" in summit
    assert "  - config_repos: the configuration repositories\n" in summit
    assert "  unset, not shown until set:\n" in summit
    assert "  - audiences.camera: its channels and user groups (the site channel only)\n" in summit
    tts = text[text.index("tts:") : text.index("bts:")]
    assert "bare_metal" not in tts  # no tts step needs it
    for value in SECRETS.values():
        assert value not in text


def test_check_reaches_for_every_system_with_the_real_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check --site tts``: one line per system; here each fails to connect, naming it."""
    port = closed_port()
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UPGRADE_BOT_TTS_SSH_KEY", ssh_key())
    monkeypatch.setenv("UPGRADE_BOT_CONFIG", str(config(tmp_path, port)))
    out = io.StringIO()
    code = main(["check", "--site", "tts"], out=out)
    text = out.getvalue()
    assert code == 1
    lines = text.splitlines()
    assert len(lines) == 6
    assert all(line.startswith("FAIL  ") for line in lines)
    for system in ("LOVE", "EFD", "SSH hosts", "Kubernetes", "GitHub", "ArgoCD"):
        assert any(line.startswith(f"FAIL  {system}: ") for line in lines), text
    for value in SECRETS.values():
        assert value not in text + capsys.readouterr().err


def test_check_of_an_unconfigured_site_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No secrets, no endpoints: exit 2 and the list, before any connection."""
    monkeypatch.delenv("UPGRADE_BOT_CONFIG", raising=False)
    for name in (*SECRETS, "UPGRADE_BOT_BTS_LOVE_PASSWORD", "UPGRADE_BOT_GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["check", "--site", "bts"], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "bts: UPGRADE_BOT_BTS_LOVE_PASSWORD is not set" in err
    assert "endpoints.kube_api" in err
