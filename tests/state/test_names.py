"""People by name in the run's record, and an announcement acknowledged as soon as it shows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from state.commands import Acknowledge, Actor, Approve, HandOver, Hold
from state.errors import BadInput, NotLead
from state.events import EVENT_ADAPTER, RunStarted
from state.evolve import replay
from state.machine import decide, handle, start
from state.procedure import parse_procedure
from state.run import StepStatus
from tests.support.procedures import WAIVED
from tests.support.runs import HELD, OTHER, T0, at, start_command

STAGE_1 = (
    """
name: stage
steps:
  - id: announce-stage-1
    title: Tell the camera team
    phase: shutdown
    action:
      type: announce
      key: ready-for-testing
      audiences: [camera]
      acknowledge: true
      message: "*{site}* is ready for testing."
"""
    + WAIVED
)

ANA = Actor("U_LEAD", name="ana")
BEN = Actor("U_BEN", name="ben")


def test_the_run_keeps_the_names_its_requests_carried() -> None:
    """The lead's name from the start, a new lead's from the hand-over, kept in the record."""
    command = start_command()
    run, events = start(None, replace(command, actor=ANA), T0)
    assert run.names == {"U_LEAD": "ana"}
    assert events[0].actor_name == "ana"
    run, events = handle(run, HandOver(ANA, "U_BEN", "ben"), at(1))
    assert [(e.actor_name, e.to_name) for e in events] == [("ana", "ben")]  # type: ignore[union-attr]
    assert run.names == {"U_LEAD": "ana", "U_BEN": "ben"}
    assert (run.lead, run.name(run.lead)) == ("U_BEN", "ben")
    assert run.name("U_NOBODY") == "U_NOBODY"  # no request named them: their id
    with pytest.raises(NotLead) as refused:
        decide(run, Approve(ANA, "sync", 0), at(2))
    assert refused.value.people == {"U_BEN": "ben"}  # the refusal knows whom it names


def test_the_names_replay_from_the_events() -> None:
    """Replaying the stored events gives the same names (the report works offline)."""
    command = start_command()
    run, first = start(None, replace(command, actor=ANA), T0)
    run, more = handle(run, HandOver(ANA, "U_BEN", "ben"), at(1))
    stored = [EVENT_ADAPTER.validate_json(e.model_dump_json()) for e in (*first, *more)]
    assert replay(stored).names == run.names


def test_events_stored_before_names_still_load() -> None:
    """An event body without ``actor_name`` (stored by an older bot) loads, with no name."""
    old = (
        '{"type": "run.started", "v": 1, "at": "2026-11-25T12:00:00Z", "actor": "U_LEAD", '
        '"run_id": "r", "site": "tts", "kind": "cycle-upgrade", "procedure": "small", '
        '"steps": []}'
    )
    event = EVENT_ADAPTER.validate_json(old)
    assert isinstance(event, RunStarted)
    assert event.actor_name is None
    assert replay([event]).names == {}
    handed = EVENT_ADAPTER.validate_json(
        '{"type": "run.handed_over", "at": "2026-11-25T12:00:00Z", "actor": "U_LEAD", '
        '"to": "U_BEN"}'
    )
    assert handed.to_name is None  # type: ignore[union-attr]


def test_an_announcement_may_be_acknowledged_while_it_goes_out() -> None:
    """Its step runs (posted, not yet recorded): the Acknowledge button already works."""
    steps = parse_procedure(STAGE_1, "stage").steps
    run, _ = start(None, start_command(steps=steps), T0)
    assert run.steps[0].status is StepStatus.RUNNING  # the announcer is posting
    run, events = handle(run, Acknowledge(OTHER, "ready-for-testing"), at(1))
    assert [e.type for e in events] == ["run.acknowledged"]
    with pytest.raises(BadInput, match="Nothing was announced as 'camera-stage-2'"):
        decide(run, Acknowledge(OTHER, "camera-stage-2"), at(2))


def test_a_held_announcement_may_be_acknowledged_as_it_is_released() -> None:
    """Held back, then released by the lead: acknowledged as soon as it shows."""
    steps = parse_procedure(HELD, "held").steps
    run, _ = start(None, start_command(steps=steps), T0)
    lead = Actor("U_LEAD")
    run, _ = handle(run, Hold(lead, "announce-nublado-available", 1, until=at(60)), at(1))
    run, events = handle(run, Acknowledge(OTHER, "nublado-available"), at(61))
    assert [e.type for e in events] == ["run.acknowledged"]
