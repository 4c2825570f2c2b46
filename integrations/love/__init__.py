"""LOVE and the ScriptQueue: queue standard scripts, follow them, send CSC commands.

The interface follows the LOVE manager REST API (lsst-ts/LOVE-manager ``manager/api``):
``POST /love/manager/api/cmd/`` with ``{"csc", "salindex", "cmd", "params"}``, the commander's
ack as the result; scripts are added to a ScriptQueue with ``cmd_add`` (``isStandard``,
``path``, ``config`` as YAML text, ``descr``, ``location``...) and stopped with
``cmd_stopScripts`` (``salIndices``, ``length``, ``terminate``).

:class:`LoveClient` follows the code of lsst-ts/LOVE-manager 8e1f887 (2026-04-15:
``manager/api/urls.py``, ``views.py``, ``authentication.py``, ``manager/permissions.py``,
``manager/settings.py``, ``subscription/consumers.py``, ``auth.py``), LOVE-commander 6aee028
(``python/love/commander/commands.py``), LOVE-producer 9faaec1 (``love_producer_script_queue.py``,
``love_producer_csc.py``), LOVE-frontend b021b14 (``components/ScriptQueue``,
``redux/actions/ws.js``), ts_scriptqueue 688c7ad (``script_queue.py``, ``queue_model.py``),
ts_salobj 69c1740 (``base_script.py``, ``controller_command.py``) and ts_xml a724e1a (enums
``Script``, ``ScriptQueue``; ``ScriptQueue_Commands.xml``). Read, not observed on a site; what
the code leaves open is marked *unconfirmed*. The messages it relies on:

REST (``<url>/manager/api/``, JSON):

- ``POST get-token/`` ``{"username", "password"}`` → 200 ``{"token", "user",
  "permissions": {"execute_commands"}, ...}``; wrong credentials → 400
  ``{"non_field_errors": [...]}``. Every login creates a new token, so the token is kept
  and reused; it is sent as ``Authorization: Token <key>``. A token older than
  ``TOKEN_EXPIRED_AFTER_DAYS`` (30) is deleted on use and answered 401
  ``{"detail": "The Token is expired"}`` (an unknown one: 401 ``"Invalid Token"``): we
  log in again once and repeat the call (safe: a 401 is answered before the view runs).
- ``GET validate-token/no_config/`` → 200 with the same fields: ``LoveClient.ping``.
- ``POST cmd/`` ``{"csc", "salindex", "cmd", "params"}``: the manager adds ``identity``
  and forwards to the commander, which answers once the CSC's final ack came (its
  ``COMMAND_TIMEOUTS``, 10 s by default): 200 ``{"ack": <ack result>}`` (salobj's
  ``"Done"`` for most commands); no final ack → 504 ``{"ack": "Command time out. ..."}``;
  user may not command → 403 ``{"ack": "Your user is not allowed to command the
  observatory."}``. A command the CSC *rejects* raises
  ``AckError`` in the commander, which does not catch it: the manager then fails on the
  commander's non-JSON 500 and answers a non-JSON 500 itself (read from the code, not
  observed: unconfirmed). Any other status is a failure, its body's tail in the detail.
- ``cmd_add`` params as the frontend sends them (``ScriptQueue.jsx`` ``launchScript``):
  ``isStandard``, ``path``, ``config`` (YAML text), ``descr``, ``location`` (2 = LAST),
  ``logLevel``, ``pauseCheckpoint``, ``stopCheckpoint``. ts_scriptqueue's ``do_add``
  acks with ``result=str(index)``: the script's SAL index comes back in the ack. The ack
  is sent once the script's process started; if that takes longer than the commander's
  timeout, the answer is a 504 although the script may be in the queue (said in the error).
- ``cmd_stopScripts`` ``{"salIndices": [400 ints, 0-padded], "length", "terminate"}``;
  the queue ignores indices it does not know or that already ended; with ``terminate``
  false a running script is sent ``stop`` (it ends STOPPED), a waiting one is terminated
  (process TERMINATED).

Websocket (``ws(s)://<host>/love/manager/ws/subscription?token=<key>``; the query must be
exactly ``token=<key>``: the manager reads ``query_string[6:]``; an unknown token is closed
before being accepted, which the ASGI server answers 403 on the handshake (Channels
behaviour, unconfirmed on the site's ingress)). Send ``{"option": "subscribe",
"category": "event", "csc", "salindex", "stream"}``; confirmed with ``{"data":
"Successfully subscribed to event-<csc>-<salindex>-<stream>"}``; on an event
subscription the producers re-send their last sample. Data arrive as ``{"category":
"event", "data": [{"csc", "salindex", "data": {<stream>: <payload>}}], "subscription"}``.
We subscribe, before queueing anything, to what the LOVE ScriptQueue view itself uses:

- ``ScriptQueueState``/<queue>/``scriptsStream``: ``{"current_scripts", "waiting_scripts",
  "finished_scripts"}``, lists of ``{"index", "path", "process_state", "script_state",
  "last_checkpoint", ...}`` with the ts_xml enum *names* (``ScriptProcessState``,
  ``ScriptState``), from the ScriptQueue ``script``/``queue`` events and the Script
  ``state`` events;
- ``ScriptQueueState``/<queue>/``stateStream``: ``{"enabled", "running"}`` (a queue that is
  not running does not start the next script; ts_scriptqueue pauses itself after a script
  fails, leaving the failed script current);
- ``Script``/<script index>/``logMessage`` (after the ack, once the index is known): the
  script's ``logMessage`` samples ``[{"level": {"value"}, "message": {"value"},
  "traceback": {"value"}, ...}]``, forwarded while the script is current or waiting. The
  Script ``state`` event's ``reason`` is *not* forwarded by the producer, so a failure's
  explanation is the script's last ERROR log message (salobj logs "Error in run" with the
  traceback for an unexpected exception, "config(...) failed" for a bad configuration;
  a script that raises ``ExpectedError`` logs nothing and we can only name its state).

A script has ended when its ``process_state`` is DONE (the outcome is then its
``script_state``: DONE, FAILED, STOPPED...) or LOADFAILED, CONFIGURE_FAILED, TERMINATED.
Only DONE/DONE is success. A script seen in the queue and then listed nowhere was removed
before it ran (stopped while waiting) if it was waiting, or is lost to us if it was current
(the finished list holds the last 10 only): then we say so rather than guess.
An EFD query (``efd/logmessages``) could recover a finished script's log; not used here.

The package: ``_interface`` holds the :class:`Love` interface and its data types; ``_rest`` the
manager's REST API (login and token, ``cmd/`` calls, errors without secrets) and the websocket's
handshake; ``_watch`` what the websocket says about one ScriptQueue and the scripts followed on
it; ``_client`` :class:`LoveClient`, which puts them together.
"""

from integrations.love._client import LOCATION_LAST, LOG_LEVEL, STOP_SCRIPTS_SIZE, LoveClient
from integrations.love._interface import (
    Love,
    QueuedScript,
    QueueState,
    ScriptProcessState,
    ScriptRun,
)
from integrations.love._watch import ERROR_LEVEL

__all__ = [
    "ERROR_LEVEL",
    "LOCATION_LAST",
    "LOG_LEVEL",
    "STOP_SCRIPTS_SIZE",
    "Love",
    "LoveClient",
    "QueueState",
    "QueuedScript",
    "ScriptProcessState",
    "ScriptRun",
]
