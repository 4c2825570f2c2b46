"""The real SSH client against a real OpenSSH server on 127.0.0.1 (see tests/support/sshd.py)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr

from integrations.errors import IntegrationError, IntegrationTimeout
from integrations.ssh import Hosts, SshHosts, Unit
from tests.support.sshd import SSHD, Sshd, alive, free_port, start_sshd
from tests.support.waiting import until

pytestmark = pytest.mark.skipif(not SSHD.exists(), reason="needs OpenSSH's sshd (.ci/run)")

A = "bridge-a.test"
B = "bridge-b.test"
HANG = 20.0
"""Seconds that mean "it hung": far above any busy machine's delay, far below the fake
``slow.service``'s minute of sleep (no assertion here is about speed)."""
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"
"""Some other host's ed25519 key (RFC 8032's first test vector public key)."""


@pytest_asyncio.fixture
async def sshd(tmp_path: Path) -> AsyncIterator[Sshd]:
    server = await start_sshd(tmp_path)
    try:
        yield server
    finally:
        await server.stop()


def client(server: Sshd, **kwargs: Any) -> SshHosts:
    """A client that reaches A and B at the test server; keyword arguments override."""
    options: dict[str, Any] = {
        "hosts": [A, B],
        "username": server.user,
        "client_key": SecretStr(server.client_key),
        "known_hosts": server.known_hosts(A, B),
        "addresses": {A: ("127.0.0.1", server.port), B: ("127.0.0.1", server.port)},
        "connect_timeout": 5.0,
        "command_timeout": 5.0,
    }
    options.update(kwargs)
    return SshHosts(**options)


class Reports:
    """Collects the progress lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, text: str) -> None:
        """Keep the line."""
        self.lines.append(text)


@pytest.mark.asyncio
async def test_stops_units_on_two_hosts_in_parallel(sshd: Sshd) -> None:
    """Three units on two hosts stop, hosts overlapping, units of one host in order."""
    for unit in ("a1.service", "a2.service", "b1.service"):
        sshd.set_unit(unit, "active")
    sshd.overlap("a1.service", "b1.service")
    sshd.overlap("b1.service", "a1.service")
    units = [Unit(A, "a1.service"), Unit(B, "b1.service"), Unit(A, "a2.service")]
    reports = Reports()

    results = await client(sshd).systemctl("stop", units, reports)

    assert [(r.unit, r.active, r.error) for r in results] == [(u, "inactive", None) for u in units]
    assert all(sshd.unit_state(u.unit) == "inactive" for u in units)
    line = sshd.timeline()
    assert line.index("begin b1.service") < line.index("end a1.service")
    assert line.index("begin a1.service") < line.index("end b1.service")
    assert line.index("end a1.service") < line.index("begin a2.service")
    assert [r.split(":")[0] for r in reports.lines] == [
        "1/3 units stopped",
        "2/3 units stopped",
        "3/3 units stopped",
    ]


@pytest.mark.asyncio
async def test_commands_are_sudo_systemctl_then_is_active(sshd: Sshd) -> None:
    """Each unit gets exactly ``sudo -n systemctl start <unit>`` then ``systemctl is-active``."""
    sshd.set_unit("ocs-bridge@1.service", "inactive")
    sshd.set_unit("b.service", "inactive")
    units = [Unit(A, "ocs-bridge@1.service"), Unit(A, "b.service")]

    results = await client(sshd).systemctl("start", units, Reports())

    assert [r.active for r in results] == ["active", "active"]
    assert sshd.calls() == [
        "sudo -n systemctl start ocs-bridge@1.service",
        "systemctl start ocs-bridge@1.service",
        "systemctl is-active ocs-bridge@1.service",
        "sudo -n systemctl start b.service",
        "systemctl start b.service",
        "systemctl is-active b.service",
    ]


@pytest.mark.asyncio
async def test_stuck_unit_is_a_result_with_its_error(sshd: Sshd) -> None:
    """A stop that fails leaves the unit active, with the exit status and stderr tail."""
    sshd.set_unit("stuck.service", "active")
    sshd.set_unit("ok.service", "active")
    units = [Unit(A, "stuck.service"), Unit(A, "ok.service")]

    stuck, ok = await client(sshd).systemctl("stop", units, Reports())

    assert stuck.active == "active"
    assert stuck.error is not None
    assert stuck.error.startswith("exit status 1: Job for stuck.service failed")
    assert "journalctl -xeu stuck.service" in stuck.error
    assert (ok.active, ok.error) == ("inactive", None)


@pytest.mark.asyncio
async def test_unknown_unit_is_a_result_with_its_error(sshd: Sshd) -> None:
    """A unit the host does not have: exit status 5, "not loaded", reported inactive."""
    (result,) = await client(sshd).systemctl("stop", [Unit(B, "nope.service")], Reports())

    assert result.active == "inactive"
    assert (
        result.error == "exit status 5: Failed to stop nope.service: Unit nope.service not loaded."
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "name",
    ["x.service; touch /tmp/pwned", "$(id).service", "-H.service", "a b.service", "sshd", ""],
)
async def test_unsafe_unit_names_are_refused_before_any_command(sshd: Sshd, name: str) -> None:
    """A unit name that is not a plain ``<name>.service`` is refused; nothing runs anywhere."""
    with pytest.raises(IntegrationError, match="refusing unit name"):
        await client(sshd).systemctl("stop", [Unit(A, "ok.service"), Unit(A, name)], Reports())

    assert sshd.calls() == []


@pytest.mark.asyncio
async def test_host_key_mismatch_is_refused(sshd: Sshd) -> None:
    """known_hosts holds another key for the host: refused, saying mismatch, nothing runs."""
    sshd.set_unit("a.service")
    hosts = client(sshd, known_hosts=f"{A} {OTHER_KEY}\n")

    with pytest.raises(IntegrationError, match=f"host key mismatch for {A}") as caught:
        await hosts.systemctl("stop", [Unit(A, "a.service")], Reports())

    assert caught.value.host == A
    assert not isinstance(caught.value, IntegrationTimeout)
    assert sshd.calls() == []
    assert sshd.unit_state("a.service") == "active"


@pytest.mark.asyncio
async def test_unknown_host_is_refused(sshd: Sshd) -> None:
    """A host that known_hosts does not list (though another is): refused as not known."""
    hosts = client(sshd, known_hosts=sshd.known_hosts(A))

    with pytest.raises(IntegrationError, match=f"host key not known for {B}") as caught:
        await hosts.systemctl("stop", [Unit(B, "a.service")], Reports())

    assert caught.value.host == B
    assert sshd.calls() == []


@pytest.mark.asyncio
async def test_known_hosts_may_be_a_file(sshd: Sshd, tmp_path: Path) -> None:
    """A Path is read as the known_hosts file."""
    path = tmp_path / "known_hosts"
    path.write_text(f"# the bridges\n{sshd.known_hosts(A, B)}")

    await client(sshd, known_hosts=path).ping()


@pytest.mark.asyncio
async def test_a_key_the_server_does_not_accept_is_refused(sshd: Sshd, tmp_path: Path) -> None:
    """Authentication with a key not in authorized_keys fails, naming the user."""
    other = tmp_path / "other"
    keygen = await asyncio.create_subprocess_exec(
        "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)
    )
    assert await keygen.wait() == 0
    hosts = client(sshd, client_key=SecretStr(other.read_text()))

    with pytest.raises(IntegrationError, match=f"authentication refused for user {sshd.user}"):
        await hosts.ping()


@pytest.mark.asyncio
async def test_connection_refused(sshd: Sshd) -> None:
    """Nobody listens on the port: an IntegrationError saying connection refused."""
    port = free_port()
    hosts = client(sshd, hosts=[A], addresses={A: ("127.0.0.1", port)})

    with pytest.raises(IntegrationError, match="connection refused") as caught:
        await hosts.ping()

    assert caught.value.host == A
    assert f"127.0.0.1:{port}" in str(caught.value)


@pytest.mark.asyncio
async def test_connect_timeout_on_a_silent_server(sshd: Sshd) -> None:
    """A server that accepts and never speaks: IntegrationTimeout after the connect timeout."""
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hosts = client(sshd, hosts=[A], addresses={A: ("127.0.0.1", port)}, connect_timeout=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(IntegrationTimeout, match="no SSH handshake") as caught:
            await hosts.ping()
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()

    assert time.monotonic() - started < HANG  # gave up: did not wait for ever
    assert caught.value.host == A


@pytest.mark.asyncio
async def test_hanging_command_times_out_and_is_stopped(sshd: Sshd) -> None:
    """A command that hangs: IntegrationTimeout within the command timeout; it is TERMed."""
    sshd.set_unit("slow.service")
    hosts = client(sshd, command_timeout=0.5)
    started = time.monotonic()

    with pytest.raises(IntegrationTimeout, match=r"did not finish within 0\.5 s") as caught:
        await hosts.systemctl("stop", [Unit(A, "slow.service")], Reports())

    assert time.monotonic() - started < HANG  # not the command's minute
    assert caught.value.host == A
    assert "sudo -n systemctl stop slow.service" in str(caught.value)
    await terminated(sshd)


@pytest.mark.asyncio
async def test_cancel_stops_a_running_command(sshd: Sshd) -> None:
    """cancel() during a hanging command: the call returns at once and the command is gone."""
    sshd.set_unit("slow.service")
    sshd.set_unit("after.service")
    hosts = client(sshd, command_timeout=30.0)
    call = asyncio.create_task(
        hosts.systemctl("stop", [Unit(A, "slow.service"), Unit(A, "after.service")], Reports())
    )
    await until(lambda: sshd.slow_pid() is not None)

    await hosts.cancel()
    with pytest.raises(IntegrationError, match="cancelled"):
        async with asyncio.timeout(HANG):  # not the command's minute
            await call

    await terminated(sshd)
    assert not [line for line in sshd.calls() if "after.service" in line]


@pytest.mark.asyncio
async def test_ping_runs_true_on_every_host(sshd: Sshd) -> None:
    """Ping logs in to each configured host and runs ``true``; no systemctl is touched."""
    hosts: Hosts = client(sshd)  # the real client keeps the protocol the runner uses

    await hosts.ping()

    assert sshd.calls() == []
    assert sshd.log().count("Accepted publickey") == 2


@pytest.mark.asyncio
async def test_ping_names_the_host_that_fails(sshd: Sshd) -> None:
    """One of two hosts unreachable: the error names it and says why."""
    hosts = client(sshd, addresses={A: ("127.0.0.1", sshd.port), B: ("127.0.0.1", free_port())})

    with pytest.raises(IntegrationError, match="connection refused") as caught:
        await hosts.ping()

    assert caught.value.host == B


@pytest.mark.asyncio
async def test_bad_configuration_fails_at_construction(sshd: Sshd) -> None:
    """A key that is no key, or known_hosts given as a path string, fail when built."""
    broken = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0IGJ5dGVz\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    with pytest.raises(ValueError, match="not a usable private key") as caught:
        client(sshd, client_key=SecretStr(broken))
    assert "c2VjcmV0" not in str(caught.value)
    with pytest.raises(ValueError, match="known_hosts"):
        client(sshd, known_hosts="/etc/ssh/ssh_known_hosts")
    with pytest.raises(ValueError, match="no host keys"):
        client(sshd, known_hosts="# nothing\n")


async def terminated(sshd: Sshd) -> None:
    """Wait until the hanging ``slow.service`` command got TERM from the client and ended.

    sshd refuses "signal" requests in a root session (post-auth privilege separation is off for
    root: "session signalling requires privilege separation"), so when the tests log in as
    root, what can be checked is that the client sent it; a normal user's command must be gone.
    """
    if os.geteuid() == 0:
        await until(lambda: "session_signal_req" in sshd.log())
        return
    # On a busy machine the command may not have started when the client gave up on it: then
    # there is nothing to stop; once it has a pid, it must be gone.
    pid = sshd.slow_pid()
    if pid is not None:
        await until(lambda: not alive(pid))
