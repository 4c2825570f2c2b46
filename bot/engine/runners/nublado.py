"""The page's fallback when LOVE is not working: the same script, from a Nublado notebook.

"It is recommended to use LOVE for this, but if it's not working, Nublado is a good fallback."
The cells are ready to paste: a ts_salobj ``Remote`` of the ScriptQueue and its ``add``
command with the fields LOVE itself sends (ts_xml ``ScriptQueue_command_add``; the queue acks
with the script's index in ``result``: ts_scriptqueue ``do_add``), and a look at what the
queue holds first (``showQueue`` -> the ``queue`` event, ``showScript`` -> one ``script``
event each), for when LOVE may have queued the script before it stopped answering.
"""

from __future__ import annotations

from integrations.love import LOCATION_LAST, LOG_LEVEL


def add_cell(*, queue: int, path: str, standard: bool, config: str, description: str) -> str:
    """A notebook cell that adds the script to ``queue`` exactly as the bot would have."""
    return f"""```
from lsst.ts import salobj

domain = salobj.Domain()
queue = salobj.Remote(domain, "ScriptQueue", index={queue})
await queue.start_task
ack = await queue.cmd_add.set_start(
    isStandard={standard!r},
    path={path!r},
    config={config!r},
    descr={description!r},
    location={LOCATION_LAST},  # LAST
    logLevel={LOG_LEVEL},
    pauseCheckpoint="",
    stopCheckpoint="",
    timeout=60,
)
print("queued as script", ack.result)
```"""


def show_cell(*, queue: int) -> str:
    """A notebook cell that prints what ``queue`` holds: running or paused, each script."""
    return f"""```
from lsst.ts import salobj

domain = salobj.Domain()
queue = salobj.Remote(domain, "ScriptQueue", index={queue}, include=["queue", "script"])
await queue.start_task
queue.evt_queue.flush()
await queue.cmd_showQueue.start(timeout=10)
state = await queue.evt_queue.next(flush=False, timeout=10)
print("running:", state.running, "current:", state.currentSalIndex)
for index in [state.currentSalIndex, *state.salIndices[: state.length]]:
    if index:
        queue.evt_script.flush()
        await queue.cmd_showScript.set_start(salIndex=index, timeout=10)
        script = await queue.evt_script.next(flush=False, timeout=10)
        print(index, script.path, script.processState, script.scriptState)
```"""
