"""Hosts over SSH: ``sudo systemctl stop|start <unit>`` and ``systemctl is-active`` to confirm.

The commands are the ones of the camera-bridge pages (``reference/rubin-interfaces.md``, "Camera
bridges", from observatory-controls-docs): ``sudo systemctl stop|start <unit>`` on the mcm
host. ``systemctl is-active <unit>`` (systemctl(1)) then prints the state the unit ended in
(``active``, ``inactive``, ``failed``...), exit 0 for active and non-zero otherwise; a unit
the host does not have fails ``stop`` with exit 5 ("Unit x.service not loaded.").

:class:`SshHosts` talks SSH with asyncssh 2.17+ (https://asyncssh.readthedocs.io/en/latest/
api.html): ``asyncssh.connect`` with ``known_hosts`` (OpenSSH known_hosts format, matched by the
host's name, ``[name]:port`` first), ``host_key_alias`` and ``client_keys``;
``SSHClientConnection.create_process``; ``SSHClientProcess.terminate``, the RFC 4254 section
6.9 "signal" request. OpenSSH's sshd honours that request from 7.9 on, and never in a root
session (sshd runs root sessions without post-auth privilege separation and answers "session
signalling requires privilege separation"): the bot logs in as a normal user with sudo rights.
Where it is not honoured, a cancelled or timed-out command runs on after its channel is closed
(``systemctl stop`` ends by itself when systemd's job does; the call returns at once anyway).
"""

from __future__ import annotations

import asyncio
import re
import shlex
import socket
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import asyncssh
from pydantic import SecretStr

from integrations.base import Integration, Report
from integrations.errors import TAIL, IntegrationError, IntegrationTimeout


@dataclass(frozen=True, slots=True)
class Unit:
    """A systemd unit on a host (a camera bridge on an mcm machine, a bare-metal service)."""

    host: str
    unit: str

    def __str__(self) -> str:
        """``auxtel-mcm.cp.lsst.org:ats-ocs-bridge.service``."""
        return f"{self.host}:{self.unit}"


@dataclass(frozen=True, slots=True)
class UnitResult:
    """The unit's state after the command (``systemctl is-active``)."""

    unit: Unit
    active: str
    """``active``, ``inactive``, ``failed``..."""
    error: str | None = None
    """The command's error (exit code, stderr tail) if it failed."""


class Hosts(Integration, Protocol):
    """The site's hosts reached over SSH (host keys verified)."""

    async def systemctl(
        self, verb: Literal["stop", "start"], units: Sequence[Unit], report: Report
    ) -> list[UnitResult]:
        """Stop or start each unit (hosts in parallel) and return each one's state after."""
        ...


UNIT_NAME = re.compile(r"[A-Za-z0-9@_.][A-Za-z0-9@._-]*\.service")
"""What a unit we act on may be called: a service name that no shell and no option parser reads
as anything else (no spaces, quotes, ``$``, ``;``, and no leading ``-``)."""

SYSTEM = "SSH"
DEFAULT_PORT = 22
CLOSE_TIMEOUT = 2.0
"""Seconds to wait for a connection to close before leaving it to the event loop."""


@dataclass(eq=False, slots=True)
class _Call:
    """One ``systemctl`` or ``ping`` call: the connections and commands ``cancel()`` stops."""

    connections: set[asyncssh.SSHClientConnection] = field(default_factory=set)
    processes: set[asyncssh.SSHClientProcess[str]] = field(default_factory=set)
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class _Ran:
    """A finished remote command."""

    command: str
    status: int
    stdout: str
    stderr: str

    def tail(self) -> str:
        """What the command said when it failed, on one line (stderr, else stdout)."""
        text = self.stderr.strip() or self.stdout.strip()
        return " ".join(text.split())[-TAIL:]


class SshHosts:
    """The site's hosts over SSH (asyncssh), host keys checked against a known_hosts list.

    One connection per host per call, hosts in parallel, the units of one host in order. The
    commands are built from validated unit names and quoted with :func:`shlex.join`, so the
    login shell on the host never reads anything but ``sudo -n systemctl stop <unit>``.
    ``sudo -n``: a sudoers rule that asks a password fails at once ("a password is required")
    instead of hanging until the command timeout.
    """

    def __init__(
        self,
        *,
        hosts: Sequence[str],
        username: str,
        client_key: SecretStr,
        known_hosts: Path | str,
        key_passphrase: SecretStr | None = None,
        addresses: Mapping[str, tuple[str, int]] | None = None,
        connect_timeout: float = 15.0,
        command_timeout: float = 150.0,
    ) -> None:
        """Check the key and the known_hosts list now: a configuration error fails at start-up.

        ``hosts``: the hosts ``ping`` checks (every mcm and bare-metal host of the site).
        ``client_key``: the private key itself (OpenSSH or PEM text, from the environment), not
        a path. ``known_hosts``: a :class:`~pathlib.Path` is read as a file, a ``str`` is the
        OpenSSH known_hosts content. ``addresses``: where a host is reached when not at its
        own name on port 22 (ssh_config's ``HostName``/``Port``); its key is still looked up
        under its name. ``command_timeout`` exceeds systemd's default ``TimeoutStopSec`` (90 s),
        after which a stuck stop fails by itself and says so.
        """
        self._hosts = tuple(dict.fromkeys(hosts))
        self._username = username
        passphrase = key_passphrase.get_secret_value() if key_passphrase else None
        try:
            self._key = asyncssh.import_private_key(client_key.get_secret_value(), passphrase)
        except (asyncssh.KeyImportError, ValueError) as e:
            # asyncssh's messages name the format problem, never the key's content.
            raise ValueError(f"client_key is not a usable private key: {e}") from None
        text = known_hosts.read_text() if isinstance(known_hosts, Path) else known_hosts
        self._known = _known_hosts(text)
        self._addresses = dict(addresses or {})
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._calls: set[_Call] = set()

    async def ping(self) -> None:
        """Log in to every configured host and run ``true``; fail naming the hosts that did not."""
        with self._call() as call:
            outcomes = await asyncio.gather(
                *(self._ping(call, host) for host in self._hosts), return_exceptions=True
            )
        _raise_failures(outcomes)

    async def systemctl(
        self, verb: Literal["stop", "start"], units: Sequence[Unit], report: Report
    ) -> list[UnitResult]:
        """Stop or start each unit (hosts in parallel) and return each one's state after.

        A unit whose command failed is a result with its ``error`` (exit status and stderr
        tail), not an exception: the others carry on. A host that cannot be reached, or a
        command that does not finish in time, is an :class:`IntegrationError` (after the other
        hosts are done, so none is left half-way).
        """
        if verb not in ("stop", "start"):
            raise IntegrationError(SYSTEM, f"unknown systemctl verb {verb!r}")
        for unit in units:
            if not UNIT_NAME.fullmatch(unit.unit):
                raise IntegrationError(
                    SYSTEM,
                    f"refusing unit name {unit.unit!r}: not a plain <name>.service",
                    host=unit.host,
                )
        by_host: dict[str, list[int]] = {}
        for index, unit in enumerate(units):
            by_host.setdefault(unit.host, []).append(index)
        results: dict[int, UnitResult] = {}
        past = "stopped" if verb == "stop" else "started"

        async def one_host(call: _Call, host: str, indices: list[int]) -> None:
            async with self._session(call, host) as conn:
                for index in indices:
                    result = await self._unit(call, conn, verb, units[index])
                    results[index] = result
                    failed = " (failed)" if result.error else ""
                    await report(
                        f"{len(results)}/{len(units)} units {past}: "
                        f"{result.unit} {result.active}{failed}"
                    )

        with self._call() as call:
            outcomes = await asyncio.gather(
                *(one_host(call, host, indices) for host, indices in by_host.items()),
                return_exceptions=True,
            )
        _raise_failures(outcomes)
        return [results[index] for index in range(len(units))]

    async def cancel(self) -> None:
        """Send TERM to the commands running for this client and close its connections."""
        calls = list(self._calls)
        connections = [conn for call in calls for conn in call.connections]
        for call in calls:
            call.cancelled = True
            for process in list(call.processes):
                _terminate(process)
        for conn in connections:
            conn.close()
        await asyncio.gather(*(_closed(conn) for conn in connections))

    @contextmanager
    def _call(self) -> Iterator[_Call]:
        call = _Call()
        self._calls.add(call)
        try:
            yield call
        finally:
            self._calls.discard(call)

    async def _ping(self, call: _Call, host: str) -> None:
        async with self._session(call, host) as conn:
            ran = await self._run(call, conn, host, ("true",), self._connect_timeout)
        if ran.status != 0:
            raise IntegrationError(
                SYSTEM,
                "`true` failed",
                host=host,
                status=f"exit status {ran.status}",
                detail=ran.tail(),
            )

    async def _unit(
        self,
        call: _Call,
        conn: asyncssh.SSHClientConnection,
        verb: Literal["stop", "start"],
        unit: Unit,
    ) -> UnitResult:
        change = await self._run(
            call, conn, unit.host, ("sudo", "-n", "systemctl", verb, unit.unit)
        )
        state = await self._run(call, conn, unit.host, ("systemctl", "is-active", unit.unit))
        words = state.stdout.split()
        errors = []
        if change.status != 0:
            errors.append(f"exit status {change.status}: {change.tail()}")
        if not words:
            errors.append(f"{state.command}: exit status {state.status}: {state.tail()}")
        return UnitResult(unit, words[-1] if words else "unknown", "; ".join(errors) or None)

    @asynccontextmanager
    async def _session(self, call: _Call, host: str) -> AsyncIterator[asyncssh.SSHClientConnection]:
        conn = await self._connect(call, host)
        call.connections.add(conn)
        try:
            if call.cancelled:
                raise IntegrationError(SYSTEM, "cancelled before any command ran", host=host)
            yield conn
        finally:
            call.connections.discard(conn)
            conn.close()
            await _closed(conn)

    async def _connect(self, call: _Call, host: str) -> asyncssh.SSHClientConnection:
        address, port = self._addresses.get(host, (host, DEFAULT_PORT))
        # Matched by the host's name only (not by whatever address it resolves to), with
        # ``[name]:port`` first as OpenSSH does: the key is the host's, wherever it is reached.
        known = self._known.match(host, "", None if port == DEFAULT_PORT else port)
        try:
            async with asyncio.timeout(self._connect_timeout):
                return await asyncssh.connect(
                    address,
                    port,
                    config=None,  # no ~/.ssh/config: every option is the one given here
                    known_hosts=known,
                    host_key_alias=host,
                    x509_trusted_certs=None,
                    username=self._username,
                    client_keys=[self._key],
                    agent_path=None,
                    password=None,
                    kbdint_auth=False,
                    gss_auth=False,
                    gss_kex=False,
                    preferred_auth="publickey",
                    connect_timeout=self._connect_timeout,
                )
        except TimeoutError as e:
            raise IntegrationTimeout(
                SYSTEM,
                f"no SSH handshake from {address}:{port} within {self._connect_timeout:g} s",
                host=host,
            ) from e
        except asyncssh.HostKeyNotVerifiable as e:
            if known[0] or known[1]:
                message = (
                    f"host key mismatch for {host}: it presents a key other than the one in "
                    "known_hosts (reinstalled, or someone in between); refusing to connect"
                )
            else:
                message = (
                    f"host key not known for {host}: it is not in known_hosts; refusing to "
                    "connect (check its key and add it)"
                )
            raise IntegrationError(SYSTEM, message, host=host, detail=e.reason) from e
        except asyncssh.PermissionDenied as e:
            raise IntegrationError(
                SYSTEM,
                f"authentication refused for user {self._username} (is the bot's public key "
                "in its authorized_keys?)",
                host=host,
                detail=e.reason,
            ) from e
        except (asyncssh.Error, OSError) as e:
            raise _failure(call, host, f"cannot connect to {address}:{port}", e) from e

    async def _run(
        self,
        call: _Call,
        conn: asyncssh.SSHClientConnection,
        host: str,
        argv: Sequence[str],
        limit: float | None = None,
    ) -> _Ran:
        """Run one command; on timeout, failure or cancellation, TERM it and close its channel."""
        command = shlex.join(argv)
        if call.cancelled:
            raise IntegrationError(SYSTEM, f"cancelled before `{command}`", host=host)
        limit = self._command_timeout if limit is None else limit
        process: asyncssh.SSHClientProcess[str] | None = None
        try:
            async with asyncio.timeout(limit):
                process = await conn.create_process(
                    command, stdin=asyncssh.DEVNULL, encoding="utf-8", errors="replace"
                )
                call.processes.add(process)
                done = await process.wait()
        except TimeoutError as e:
            raise IntegrationTimeout(
                SYSTEM, f"`{command}` did not finish within {limit:g} s (sent it TERM)", host=host
            ) from e
        except (asyncssh.Error, OSError) as e:
            raise _failure(call, host, f"`{command}` failed", e) from e
        finally:
            if process is not None:
                call.processes.discard(process)
                if process.exit_status is None and not call.cancelled:  # cancel() TERMed it
                    _terminate(process)
        if call.cancelled:
            raise IntegrationError(SYSTEM, f"cancelled while `{command}` ran", host=host)
        if done.exit_signal:
            raise IntegrationError(
                SYSTEM,
                f"`{command}` was killed",
                host=host,
                status=f"signal {done.exit_signal[0]}",
                detail=_text(done.stderr),
            )
        if done.exit_status is None:
            raise IntegrationError(SYSTEM, f"connection lost while `{command}` ran", host=host)
        return _Ran(command, done.exit_status, _text(done.stdout), _text(done.stderr))


def _known_hosts(text: str) -> asyncssh.SSHKnownHosts:
    """Parse OpenSSH known_hosts content; an empty list would refuse every host, so refuse it."""
    entries = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    if not entries:
        raise ValueError("known_hosts holds no host keys (a file must be given as a Path)")
    try:
        return asyncssh.import_known_hosts(text)
    except ValueError as e:
        raise ValueError(f"known_hosts is not in OpenSSH format: {e}") from None


def _text(data: object) -> str:
    """A process's output as text (asyncssh types it loosely)."""
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data if isinstance(data, str) else ""


def _terminate(process: asyncssh.SSHClientProcess[str]) -> None:
    """TERM the remote command (RFC 4254 "signal"; sshd delivers it) and close its channel."""
    with suppress(asyncssh.Error, OSError):
        process.terminate()
    process.close()


async def _closed(conn: asyncssh.SSHClientConnection) -> None:
    with suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await conn.wait_closed()


def _failure(call: _Call, host: str, what: str, error: Exception) -> IntegrationError:
    """An SSH or socket failure, said plainly; after ``cancel()``, that it was cancelled."""
    if call.cancelled:
        return IntegrationError(SYSTEM, f"cancelled: {what}", host=host)
    if isinstance(error, ConnectionRefusedError):
        return IntegrationError(SYSTEM, f"{what}: connection refused", host=host)
    if isinstance(error, socket.gaierror):
        return IntegrationError(
            SYSTEM, f"{what}: cannot resolve the name", host=host, detail=error.strerror
        )
    if isinstance(error, asyncssh.Error):
        return IntegrationError(SYSTEM, f"{what}: {error.reason}", host=host)
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return IntegrationError(SYSTEM, f"{what}: {reason}", host=host)


def _raise_failures(outcomes: Sequence[object]) -> None:
    """Raise what went wrong on the hosts: one error as it is, several as one naming each."""
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    for error in errors:
        if not isinstance(error, IntegrationError):
            raise error  # a bug or a cancellation of our caller: not ours to reword
    failures = [e for e in errors if isinstance(e, IntegrationError)]
    if not failures:
        return
    if len(failures) == 1:
        raise failures[0]
    kind = (
        IntegrationTimeout
        if all(isinstance(e, IntegrationTimeout) for e in failures)
        else IntegrationError
    )
    raise kind(
        SYSTEM, f"{len(failures)} hosts failed", detail="; ".join(str(e) for e in failures)
    ) from failures[0]
