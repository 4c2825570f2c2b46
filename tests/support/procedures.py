"""Procedure steps as the tests write them, one place each, composed into small procedures.

Each constant is a step of the shipped procedure's shape (its YAML under ``steps:``);
:func:`procedure` puts some together, in order, as the text of a procedure file.
"""

from __future__ import annotations

PREFLIGHT = """
  - id: preflight
    title: Pre-flight
    phase: shutdown
    action: {type: preflight.check, timeout: 2m}
"""

SHUTDOWN_SCRIPT = """
  - id: shutdown-cscs
    title: Everything OFFLINE
    phase: shutdown
    needs_approval: true
    action:
      type: love.run_script
      script: system_wide_shutdown.py
      queue: 1
      timeout: 30m
      config: {start_with: [Watcher]}
"""

VERIFY_OFFLINE = """
  - id: verify-offline
    title: Verify OFFLINE by heartbeats
    phase: shutdown
    action: {type: efd.wait_for_states, expect: offline, deadline: 10m, poll: 10s}
"""

STRAGGLERS = """
  - id: offline-stragglers
    title: The stragglers OFFLINE
    phase: shutdown
    needs_approval: true
    action:
      type: love.run_script
      script: set_summary_state.py
      timeout: 15m
      config: {targets: stragglers, state: OFFLINE}
"""

SCRIPTQUEUES = """
  - id: scriptqueues-offline
    title: ScriptQueues OFFLINE
    phase: shutdown
    needs_approval: true
    action:
      type: love.run_script
      script: set_summary_state.py
      queue: 1
      timeout: 10m
      config: {targets: scriptqueues, state: OFFLINE, mute_alarms: false}
"""


WAIVED = """
waived:
  shutdown-script: a test's short procedure
  offline-check: a test's short procedure
  scriptqueues-last: a test's short procedure
  phalanx-pr: a test's short procedure
  end-state-watch: a test's short procedure
"""
"""A short procedure leaves out steps the page requires: it says so (and why)."""


def procedure(name: str, *steps: str) -> str:
    """A short procedure file's text with these steps, in this order (the rest waived)."""
    return f"name: {name}{WAIVED}steps:" + "".join(steps)
