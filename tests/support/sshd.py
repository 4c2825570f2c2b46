"""A real OpenSSH server on 127.0.0.1 for the SSH client's tests, with fake sudo and systemctl.

``sshd -D -e -f <config>`` runs as a child of the test from a temporary directory: its own
ed25519 host key, a free loopback port, ``UsePAM no``, ``StrictModes no``, an authorized_keys
file holding the test's client key, the current user as the login user. ``SetEnv PATH=``
(OpenSSH 7.8+) puts a ``bin`` directory first on the session's PATH, with two doubles:

- ``sudo`` records its arguments, drops ``-n`` and execs the rest;
- ``systemctl`` records its arguments and keeps each unit's state in ``units/<name>``
  (``stop`` -> inactive, ``start`` -> active; ``is-active`` prints it and exits 0 for active,
  3 otherwise). No state file: the unit is unknown (exit 5, "Unit x.service not loaded.").
  ``stuck.service`` fails to stop (exit 1, systemd's job-timeout message); ``slow.service``
  writes its pid to ``slow.pid`` and sleeps a minute. Each stop or start writes ``begin`` and
  ``end`` lines to ``timeline``; ``await/<unit>`` naming another unit makes it wait (3 s at
  most) for that one to begin: two hosts worked in parallel overlap, in series they cannot.

Nothing touches the real home directory or the system, except that sshd run as root needs its
privilege-separation directory ``/run/sshd`` (created empty if missing, as its service does).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shlex
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = "ssh-keygen"
START_LIMIT = 10.0
"""Seconds for sshd to say it listens."""

SUDO = """#!/bin/sh
echo "sudo $*" >> {root}/calls
[ "$1" = -n ] && shift
exec "$@"
"""

SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> {root}/calls
verb=$1
unit=$2
state={root}/units/$unit
case "$verb" in
stop|start)
  if [ ! -f "$state" ]; then
    echo "Failed to $verb $unit: Unit $unit not loaded." >&2
    exit 5
  fi
  if [ "$unit" = slow.service ]; then
    echo $$ > {root}/slow.pid
    exec sleep 60
  fi
  if [ "$unit" = stuck.service ] && [ "$verb" = stop ]; then
    echo "Job for $unit failed because a timeout was exceeded." >&2
    echo "See \\"systemctl status $unit\\" and \\"journalctl -xeu $unit\\" for details." >&2
    exit 1
  fi
  echo "begin $unit" >> {root}/timeline
  if [ -f {root}/await/$unit ]; then
    other=$(cat {root}/await/$unit)
    n=0
    while ! grep -qx "begin $other" {root}/timeline && [ $n -lt 300 ]; do
      sleep 0.01
      n=$((n + 1))
    done
  fi
  if [ "$verb" = stop ]; then echo inactive > "$state"; else echo active > "$state"; fi
  echo "end $unit" >> {root}/timeline
  ;;
is-active)
  if [ -f "$state" ]; then now=$(cat "$state"); else now=inactive; fi
  echo "$now"
  [ "$now" = active ] || exit 3
  ;;
*)
  echo "Unknown command verb $verb." >&2
  exit 1
  ;;
esac
"""


@dataclass
class Sshd:
    """A running sshd and its test doubles' records."""

    root: Path
    port: int
    host_key: str
    """The server's public host key line (``ssh-ed25519 AAAA...``)."""
    client_key: str
    """The private key the server accepts (OpenSSH text)."""
    user: str
    process: asyncio.subprocess.Process

    def known_hosts(self, *names: str) -> str:
        """A known_hosts line giving ``names`` this server's key."""
        return f"{','.join(names)} {self.host_key}\n"

    def set_unit(self, unit: str, state: str = "active") -> None:
        """Make ``unit`` known to the fake systemctl, in ``state``."""
        (self.root / "units" / unit).write_text(f"{state}\n")

    def unit_state(self, unit: str) -> str | None:
        """The fake systemctl's state of ``unit`` (None: unknown)."""
        path = self.root / "units" / unit
        return path.read_text().strip() if path.exists() else None

    def overlap(self, unit: str, other: str) -> None:
        """Make ``unit``'s stop or start wait (3 s at most) until ``other``'s has begun."""
        (self.root / "await" / unit).write_text(f"{other}\n")

    def calls(self) -> list[str]:
        """Every ``sudo`` and ``systemctl`` the sessions ran, in order."""
        return _lines(self.root / "calls")

    def timeline(self) -> list[str]:
        """``begin <unit>`` / ``end <unit>`` of each stop or start, in order."""
        return _lines(self.root / "timeline")

    def slow_pid(self) -> int | None:
        """The pid of the hanging ``slow.service`` command, once it runs."""
        path = self.root / "slow.pid"
        text = path.read_text().strip() if path.exists() else ""
        return int(text) if text else None

    def log(self) -> str:
        """The server's own log (``-e``), to read when a test fails."""
        return (self.root / "sshd.log").read_text(errors="replace")

    async def stop(self) -> None:
        """Stop sshd and any hanging command a test left behind."""
        pid = self.slow_pid()
        if pid is not None and alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(5):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def alive(pid: int) -> bool:
    """Whether a process of ours is still running (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def free_port() -> int:
    """A loopback port nobody listens on (closed again at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_sshd(root: Path) -> Sshd:
    """Start sshd in ``root`` (a fresh temporary directory) and wait until it listens."""
    user = pwd.getpwuid(os.geteuid()).pw_name
    await _keygen(root / "host_key")
    await _keygen(root / "client_key")
    bin_dir = _prepare(root)
    for _attempt in range(3):  # another process may take the free port before sshd binds it
        port = free_port()
        config = root / "sshd_config"
        config.write_text(_config(root, port, bin_dir))
        log = root / "sshd.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                str(SSHD), "-D", "-e", "-f", str(config),
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
            )  # fmt: skip
        if await _listening(process, log):
            host_key = (root / "host_key.pub").read_text().split()
            return Sshd(
                root=root,
                port=port,
                host_key=f"{host_key[0]} {host_key[1]}",
                client_key=(root / "client_key").read_text(),
                user=user,
                process=process,
            )
        if not _says(log, "Address already in use"):
            break
    msg = f"sshd did not start: {log.read_text(errors='replace')}"
    raise RuntimeError(msg)


def _prepare(root: Path) -> Path:
    """The authorized key, the doubles' files and ``bin``; sshd's privsep directory if root."""
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    (root / "units").mkdir()
    (root / "await").mkdir()
    (root / "calls").touch()
    (root / "timeline").touch()
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for name, script in (("sudo", SUDO), ("systemctl", SYSTEMCTL)):
        (bin_dir / name).write_text(script.format(root=shlex.quote(str(root))))
        (bin_dir / name).chmod(0o755)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    return bin_dir


def _says(log: Path, text: str) -> bool:
    return text in log.read_text(errors="replace")


async def _listening(process: asyncio.subprocess.Process, log: Path) -> bool:
    async with asyncio.timeout(START_LIMIT):
        while process.returncode is None:
            if _says(log, "Server listening"):
                return True
            await asyncio.sleep(0.01)
    return False


async def _keygen(path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(path),
        stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    if await process.wait() != 0:
        msg = f"ssh-keygen failed for {path}"
        raise RuntimeError(msg)


def _config(root: Path, port: int, bin_dir: Path) -> str:
    return f"""\
ListenAddress 127.0.0.1:{port}
HostKey {root}/host_key
PidFile {root}/sshd.pid
UsePAM no
StrictModes no
AuthorizedKeysFile {root}/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitUserRC no
PermitUserEnvironment no
X11Forwarding no
AllowTcpForwarding no
LoginGraceTime 10
LogLevel INFO
SetEnv PATH={bin_dir}:/usr/local/bin:/usr/bin:/bin
"""


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
