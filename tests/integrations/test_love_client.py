"""The real LOVE client against a fake LOVE manager on 127.0.0.1 (REST API and websocket)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from pydantic import SecretStr

from integrations.errors import IntegrationError, IntegrationTimeout, NoAnswer, Unreachable
from integrations.love import LoveClient, QueuedScript, QueueState, ScriptRun
from tests.support.fakes.love import NOT_ALLOWED, TIMED_OUT, FakeLove
from tests.support.waiting import until

CONFIG = "user: lead\nreason: upgrade of summit (run 7)\nstart_with: [Watcher]\nignore: [MTM1M3TS]"
SHUTDOWN = "system_wide_shutdown.py"


class Lines:
    """A progress callback that keeps the lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, text: str) -> None:
        """Keep the line."""
        self.lines.append(text)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeLove]:
    love = FakeLove()
    await love.start()
    yield love
    await love.stop()


def make_client(url: str, password: str = "correct horse battery staple") -> LoveClient:  # noqa: S107
    return LoveClient(
        url=url,
        username="upgrade-bot",
        password=SecretStr(password),
        timeout=1.0,
        command_timeout=2.0,
        script_timeout=5.0,
        heartbeat=1.0,
        retry_delay=0.0,
    )


@pytest_asyncio.fixture
async def client(fake: FakeLove) -> AsyncIterator[LoveClient]:
    love = make_client(fake.url)
    yield love
    await love.aclose()


async def run_shutdown(client: LoveClient, lines: Lines, queue: int = 1) -> ScriptRun:
    return await client.run_script(
        queue=queue,
        path=SHUTDOWN,
        standard=True,
        config=CONFIG,
        description="upgrade-bot 7 step shutdown",
        report=lines,
    )


def token_of(fake: FakeLove) -> str:
    return next(iter(fake.tokens))


@pytest.mark.asyncio
async def test_login_once_and_token_reused(fake: FakeLove, client: LoveClient) -> None:
    """One login serves a ping and two commands, each carrying ``Token <key>``."""
    await client.ping()
    assert await client.command(csc="ATDome", index=0, command="standby") == "Done"
    assert await client.command(csc="ATDome", index=0, command="exitControl") == "Done"
    assert fake.logins == 1
    login = fake.calls[0]
    assert login.path == "/love/manager/api/get-token/"
    assert login.body == {"username": "upgrade-bot", "password": fake.password}
    headers = {c.authorization for c in fake.calls[1:]}
    assert headers == {f"Token {token_of(fake)}"}
    assert [c.path for c in fake.calls[1:]] == [
        "/love/manager/api/validate-token/no_config/",
        "/love/manager/api/cmd/",
        "/love/manager/api/cmd/",
    ]


@pytest.mark.asyncio
async def test_command_sends_cmd_and_returns_ack(fake: FakeLove, client: LoveClient) -> None:
    """``command`` posts ``cmd_<command>`` with the params and returns the ack."""
    ack = await client.command(csc="ATDome", index=0, command="standby")
    assert ack == "Done"
    assert fake.commands == [
        {
            "csc": "ATDome",
            "salindex": 0,
            "cmd": "cmd_standby",
            "params": {},
            "identity": "upgrade-bot@127.0.0.1",
        }
    ]


@pytest.mark.asyncio
async def test_expired_token_logs_in_again_once(fake: FakeLove, client: LoveClient) -> None:
    """An expired token (401) leads to one new login and the command is sent again."""
    await client.ping()
    fake.expire_tokens()
    assert await client.command(csc="ATDome", index=0, command="standby") == "Done"
    assert fake.logins == 2
    assert len(fake.commands) == 1
    posts = [c.authorization for c in fake.calls if c.path.endswith("/cmd/")]
    assert len(posts) == 2
    assert posts[0] != posts[1]


@pytest.mark.asyncio
async def test_token_refused_after_relogin_fails(fake: FakeLove, client: LoveClient) -> None:
    """If the new token is refused too, the error says 401 after exactly two logins."""
    fake.expire_on_issue = True
    with pytest.raises(IntegrationError) as caught:
        await client.command(csc="ATDome", index=0, command="standby")
    assert caught.value.status == 401
    assert "expired" in str(caught.value)
    assert fake.logins == 2
    assert fake.commands == []
    keys = [(c.authorization or "").removeprefix("Token ") for c in fake.calls]
    assert len([k for k in keys if k]) == 2
    for key in filter(None, keys):
        assert key not in str(caught.value)


@pytest.mark.asyncio
async def test_wrong_password_is_clear_and_secret(fake: FakeLove) -> None:
    """A wrong password: 400, a clear message, and the password appears nowhere."""
    wrong = "hunter2-wrong-password"
    love = make_client(fake.url, password=wrong)
    try:
        with pytest.raises(IntegrationError) as caught:
            await love.ping()
    finally:
        await love.aclose()
    error = caught.value
    assert error.status == 400
    assert "wrong username or password" in error.message
    assert "Unable to log in" in (error.detail or "")
    assert error.host == fake.url.removeprefix("http://").removesuffix("/love")
    for text in (str(error), repr(error), error.detail or ""):
        assert wrong not in text


@pytest.mark.asyncio
async def test_run_script_to_done(fake: FakeLove, client: LoveClient) -> None:
    """A script queued last with the frontend's params, followed over the websocket to DONE."""
    lines = Lines()
    run = await run_shutdown(client, lines)
    assert run == ScriptRun(queue=1, script_index=100001, final_state="DONE")
    [add] = fake.commands
    assert (add["csc"], add["salindex"], add["cmd"]) == ("ScriptQueue", 1, "cmd_add")
    assert add["params"] == {
        "isStandard": True,
        "path": SHUTDOWN,
        "config": CONFIG,
        "descr": "upgrade-bot 7 step shutdown",
        "location": 2,
        "logLevel": 20,
        "pauseCheckpoint": "",
        "stopCheckpoint": "",
    }
    assert f"{SHUTDOWN} (script 100001) RUNNING: start" in lines.lines
    assert lines.lines[-1] == f"{SHUTDOWN} (script 100001) DONE"
    subscribed = [m for m in fake.ws_received if m.get("option") == "subscribe"]
    assert subscribed[:2] == [
        {
            "option": "subscribe",
            "category": "event",
            "csc": "ScriptQueueState",
            "salindex": 1,
            "stream": "scriptsStream",
        },
        {
            "option": "subscribe",
            "category": "event",
            "csc": "ScriptQueueState",
            "salindex": 1,
            "stream": "stateStream",
        },
    ]
    assert subscribed[2]["csc"] == "Script"
    assert subscribed[2]["salindex"] == 100001
    assert fake.ws_tokens == [token_of(fake)]
    assert client._mine == set()


@pytest.mark.asyncio
async def test_waiting_script_reports_its_place(fake: FakeLove, client: LoveClient) -> None:
    """Behind another script on a paused queue, the progress says so, then it runs."""
    fake.queues[1].running = False
    first = asyncio.create_task(run_shutdown(client, Lines()))
    await until(lambda: 100001 in fake.scripts, 2)
    lines = Lines()
    second = asyncio.create_task(run_shutdown(client, lines))
    await until(
        lambda: any("behind 1 script(s); ScriptQueue 1 is paused" in x for x in lines.lines), 2
    )
    await client.command(csc="ScriptQueue", index=1, command="resume")
    assert (await first).script_index == 100001
    assert (await second).script_index == 100002


@pytest.mark.asyncio
async def test_failed_script_raises_its_message(fake: FakeLove, client: LoveClient) -> None:
    """A script ending FAILED raises with its state and its own error message."""
    fake.outcomes[SHUTDOWN] = ("FAILED", "A total of 2 components failed to transition to offline.")
    lines = Lines()
    with pytest.raises(IntegrationError) as caught:
        await run_shutdown(client, lines)
    error = caught.value
    assert error.system == "ScriptQueue"
    assert error.status == "FAILED"
    assert "script 100001" in error.message
    assert "ended FAILED" in error.message
    assert "RuntimeError: A total of 2 components failed to transition to offline." in error.message
    assert "ATDome::timeout" in (error.detail or "")
    assert "pauses after a failed script" in (error.detail or "")
    assert lines.lines[-1] == f"{SHUTDOWN} (script 100001) FAILED"
    assert client._mine == set()


@pytest.mark.asyncio
async def test_configure_failed_script(fake: FakeLove, client: LoveClient) -> None:
    """A configuration the script refuses ends CONFIGURE_FAILED with the validation error."""
    fake.outcomes[SHUTDOWN] = ("CONFIGURE_FAILED", "'reason' is a required property")
    with pytest.raises(IntegrationError) as caught:
        await run_shutdown(client, Lines())
    assert caught.value.status == "CONFIGURE_FAILED"
    assert "'reason' is a required property" in caught.value.message


@pytest.mark.asyncio
async def test_cmd_add_timeout_504(fake: FakeLove, client: LoveClient) -> None:
    """The queue does not answer: 504 with the commander's ack in the detail, nothing followed.

    A 504 is no answer, not a refusal: the command was sent (NoAnswer), it may have acted.
    """
    fake.down.add("ScriptQueue:1")
    with pytest.raises(NoAnswer) as caught:
        await run_shutdown(client, Lines())
    error = caught.value
    assert error.status == 504
    assert error.detail == TIMED_OUT
    assert "cmd_add to ScriptQueue:1" in error.message
    assert f"{SHUTDOWN} may have been queued on ScriptQueue 1" in error.message
    assert client._mine == set()


@pytest.mark.asyncio
@pytest.mark.parametrize("late", ["504", "hang", "drop"])
async def test_a_script_queued_without_an_answer_is_found_and_followed(
    fake: FakeLove, late: str
) -> None:
    """cmd_add acted, but no answer came (504, none in time, the connection dropped).

    The error says it may be queued; the queue lists it, by its description, and ``follow``
    takes it to its end: nothing is queued twice.
    """
    fake.late["cmd_add"] = late
    fake.run_time = 3.0  # still running when the caller has given up waiting for the answer
    love = LoveClient(
        url=fake.url,
        username="upgrade-bot",
        password=SecretStr("correct horse battery staple"),
        command_timeout=0.5,
        retry_delay=0.01,
    )
    try:
        with pytest.raises(NoAnswer) as caught:
            await run_shutdown(love, Lines())
        assert f"{SHUTDOWN} may have been queued on ScriptQueue 1" in caught.value.message
        state = await love.queue_state(1)
        copy = state.copy_of("upgrade-bot 7 step shutdown")
        assert copy is not None
        assert copy.index == 100001
        lines = Lines()
        done = await love.follow(queue=1, index=copy.index, path=SHUTDOWN, report=lines)
        assert done == ScriptRun(queue=1, script_index=100001, final_state="DONE")
        assert [c["cmd"] for c in fake.commands].count("cmd_add") == 1
    finally:
        await love.aclose()


@pytest.mark.asyncio
async def test_nothing_listening_is_unreachable_not_maybe_queued() -> None:
    """A refused connection: nothing was sent, so nothing can be queued (Unreachable)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    love = make_client(f"http://127.0.0.1:{port}/love")
    try:
        with pytest.raises(Unreachable) as caught:
            await run_shutdown(love, Lines())
        assert "cannot connect" in caught.value.message
        assert "may have been queued" not in caught.value.message
    finally:
        await love.aclose()


@pytest.mark.asyncio
async def test_a_queue_sent_offline_terminates_its_scripts_and_falls_silent(
    fake: FakeLove, client: LoveClient
) -> None:
    """``cmd_exitControl`` to a ScriptQueue: its running script is terminated, its stream ends.

    ts_scriptqueue closes the queue's tasks as it exits (``close_tasks``): the script is never
    DONE, and LOVE has nothing more to say of that queue; its commands time out.
    """
    fake.run_time = 30.0
    lines = Lines()
    running = asyncio.create_task(run_shutdown(client, lines))
    await until(lambda: any("RUNNING" in line for line in lines.lines), 3)
    for command in ("disable", "standby", "exitControl"):
        assert await client.command(csc="ScriptQueue", index=1, command=command) == "Done"
    assert fake.scripts[100001].process_state == "TERMINATED"
    await asyncio.sleep(0.3)
    assert not running.done()  # nothing more comes: the caller must judge by heartbeats
    running.cancel()
    with pytest.raises(NoAnswer):
        await client.command(csc="ScriptQueue", index=1, command="showQueue")
    assert [c["cmd"] for c in fake.commands][-4:-1] == [
        "cmd_disable", "cmd_standby", "cmd_exitControl",
    ]  # fmt: skip


@pytest.mark.asyncio
async def test_cancel_stops_the_running_script(fake: FakeLove, client: LoveClient) -> None:
    """cancel() during a run sends cmd_stopScripts for that script; the run ends STOPPED."""
    fake.run_time = 30.0
    lines = Lines()
    run = asyncio.create_task(run_shutdown(client, lines))
    await until(lambda: any("RUNNING" in line for line in lines.lines), 3)
    await client.cancel()
    with pytest.raises(IntegrationError) as caught:
        await run
    assert caught.value.status == "STOPPED"
    [stop] = fake.stop_scripts_calls()
    assert (stop["csc"], stop["salindex"]) == ("ScriptQueue", 1)
    params = stop["params"]
    assert params["salIndices"][0] == 100001
    assert params["salIndices"][1:] == [0] * 399
    assert (params["length"], params["terminate"]) == (1, False)
    await client.cancel()  # nothing left to stop
    assert len(fake.stop_scripts_calls()) == 1


@pytest.mark.asyncio
async def test_cancel_after_caller_gave_up(fake: FakeLove, client: LoveClient) -> None:
    """A run cancelled by its caller leaves the script queued; cancel() still stops it."""
    fake.run_time = 30.0
    lines = Lines()
    run = asyncio.create_task(run_shutdown(client, lines))
    await until(lambda: any("RUNNING" in line for line in lines.lines), 3)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await client.cancel()
    assert fake.scripts[100001].script_state == "STOPPED"


@pytest.mark.asyncio
async def test_cancel_a_waiting_script(fake: FakeLove, client: LoveClient) -> None:
    """A script still waiting in a paused queue is terminated by cancel(): TERMINATED."""
    fake.queues[1].running = False
    lines = Lines()
    run = asyncio.create_task(run_shutdown(client, lines))
    await until(lambda: any("is paused" in line for line in lines.lines), 3)
    await client.cancel()
    with pytest.raises(IntegrationError) as caught:
        await run
    assert caught.value.status == "TERMINATED"
    assert fake.stop_scripts_calls()[0]["params"]["salIndices"][0] == 100001


@pytest.mark.asyncio
async def test_websocket_refusing_a_deleted_token_logs_in_again(
    fake: FakeLove, client: LoveClient
) -> None:
    """A token the manager no longer knows is refused at the handshake (403): one new login."""
    await client.ping()
    fake.tokens.clear()
    assert (await run_shutdown(client, Lines())).final_state == "DONE"
    assert fake.logins == 2
    assert len(fake.ws_tokens) == 2
    assert fake.ws_tokens[0] != fake.ws_tokens[1]


@pytest.mark.asyncio
async def test_websocket_handshake_failure_hides_the_token(
    fake: FakeLove, client: LoveClient
) -> None:
    """A websocket that will not open (502) fails the run before queueing; no token shown."""
    fake.ws_status = 502
    with pytest.raises(IntegrationError) as caught:
        await run_shutdown(client, Lines())
    assert caught.value.status == 502
    assert "websocket" in caught.value.message
    assert token_of(fake) not in str(caught.value)
    assert token_of(fake) not in repr(caught.value.__cause__)
    assert fake.commands == []


@pytest.mark.asyncio
async def test_websocket_dropped_is_reopened(fake: FakeLove, client: LoveClient) -> None:
    """A websocket closed mid-run is reopened and resubscribed; the run still ends DONE."""
    fake.run_time = 0.5
    lines = Lines()
    run = asyncio.create_task(run_shutdown(client, lines))
    await until(lambda: any("RUNNING" in line for line in lines.lines), 3)
    await fake.drop_websockets()
    assert (await run).final_state == "DONE"
    assert len(fake.ws_tokens) == 2


@pytest.mark.asyncio
async def test_timeout(fake: FakeLove, client: LoveClient) -> None:
    """A manager slower than the timeout raises IntegrationTimeout."""
    fake.slow = 3.0
    with pytest.raises(IntegrationTimeout) as caught:
        await client.ping()
    assert "no answer in 1s" in caught.value.message


@pytest.mark.asyncio
async def test_script_timeout_leaves_it_for_cancel(fake: FakeLove) -> None:
    """Following longer than script_timeout raises IntegrationTimeout; cancel() can stop it."""
    fake.run_time = 30.0
    love = LoveClient(
        url=fake.url,
        username="upgrade-bot",
        password=SecretStr(fake.password),
        timeout=1.0,
        script_timeout=0.3,
    )
    try:
        with pytest.raises(IntegrationTimeout) as caught:
            await run_shutdown(love, Lines())
        assert "still RUNNING" in caught.value.message
        await love.cancel()
    finally:
        await love.aclose()
    assert fake.stop_scripts_calls()[0]["params"]["salIndices"][0] == 100001


@pytest.mark.asyncio
async def test_connection_refused() -> None:
    """Nothing listening: an IntegrationError that says it cannot connect."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    love = make_client(f"http://127.0.0.1:{port}/love")
    try:
        with pytest.raises(IntegrationError) as caught:
            await run_shutdown(love, Lines())
    finally:
        await love.aclose()
    assert "cannot connect" in caught.value.message
    assert caught.value.host == f"127.0.0.1:{port}"


@pytest.mark.asyncio
async def test_malformed_json(fake: FakeLove, client: LoveClient) -> None:
    """A 200 that is not JSON is a malformed answer, with the body in the detail."""
    fake.malformed = True
    with pytest.raises(IntegrationError) as caught:
        await client.ping()
    assert "malformed" in caught.value.message
    assert caught.value.status == 200
    assert "<html>" in (caught.value.detail or "")


@pytest.mark.asyncio
async def test_server_error_retried_once_for_ping(fake: FakeLove, client: LoveClient) -> None:
    """A 503 (HTML) fails a ping after one more try, and a command at once."""
    fake.broken = 503
    with pytest.raises(IntegrationError) as caught:
        await client.ping()
    assert caught.value.status == 503
    assert len(fake.calls) == 2
    with pytest.raises(IntegrationError) as caught:
        await client.command(csc="ATDome", index=0, command="standby")
    assert caught.value.status == 503
    assert len(fake.calls) == 3


@pytest.mark.asyncio
async def test_rejected_command_is_a_500(fake: FakeLove, client: LoveClient) -> None:
    """A command the CSC rejects comes back as the manager's non-JSON 500."""
    fake.rejected.add("cmd_enable")
    with pytest.raises(IntegrationError) as caught:
        await client.command(csc="ATDome", index=0, command="enable")
    assert caught.value.status == 500
    assert "rejects" in caught.value.message


@pytest.mark.asyncio
async def test_not_allowed_403(fake: FakeLove, client: LoveClient) -> None:
    """A user who may not command: 403 on a command, and ping says so too."""
    fake.forbidden = True
    with pytest.raises(IntegrationError) as caught:
        await client.command(csc="ATDome", index=0, command="standby")
    assert caught.value.status == 403
    assert caught.value.detail == NOT_ALLOWED
    with pytest.raises(IntegrationError) as caught:
        await client.ping()
    assert "may not command" in caught.value.message


@pytest.mark.asyncio
async def test_failed_script_pauses_the_queue_until_resumed(
    fake: FakeLove, client: LoveClient
) -> None:
    """After a FAILED script the queue is paused with it current; ``cmd_resume`` frees it."""
    assert await client.queue_state(1) == QueueState(queue=1, running=True)
    fake.outcomes[SHUTDOWN] = ("FAILED", "A total of 2 components failed to transition to offline.")
    with pytest.raises(IntegrationError):
        await run_shutdown(client, Lines())
    state = await client.queue_state(1)
    failed = QueuedScript(100001, SHUTDOWN, "upgrade-bot 7 step shutdown", "FAILED", "current")
    assert state == QueueState(
        queue=1, running=False, current=f"{SHUTDOWN} (script 100001) FAILED", scripts=(failed,)
    )
    assert state.line() == f"ScriptQueue 1 is paused; current: {SHUTDOWN} (script 100001) FAILED"
    assert state.copy_of("upgrade-bot 7 step shutdown") is None  # it ended: no copy to follow
    assert await client.queue_state(2) == QueueState(queue=2, running=True)

    del fake.outcomes[SHUTDOWN]
    await client.resume(1)
    assert fake.commands[-1]["cmd"] == "cmd_resume"
    assert fake.commands[-1]["params"] == {}
    resumed = await client.queue_state(1)
    assert (resumed.running, resumed.current) == (True, "")
    done = await run_shutdown(client, Lines())
    assert done.final_state == "DONE"


@pytest.mark.asyncio
async def test_queue_state_unknown_when_the_producer_is_silent(client: LoveClient) -> None:
    """A queue LOVE sends nothing about (no producer) is reported unknown, not running."""
    state = await client.queue_state(7)
    assert state.running is None
    assert state.line() == "ScriptQueue 7 is in an unknown state"
