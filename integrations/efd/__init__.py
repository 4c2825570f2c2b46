r"""The EFD (InfluxDB 1.x): every CSC instance's last summary state and heartbeat, in one poll.

Measurements are Kafka topics (``lsst.sal.<CSC>.logevent_summaryState`` with the integer field
``summaryState``; ``lsst.sal.<CSC>.logevent_heartbeat``); the SAL index is the *field*
``salIndex``. A salobj CSC exits when it goes OFFLINE, so its last summary state may read
STANDBY forever: silence is what says OFFLINE, and only while the EFD itself is fresh.

The real client, :class:`EfdClient`, follows the InfluxDB 1.x HTTP API (``GET /query`` with
``db``, ``q``, ``epoch``, ``chunked``; ``GET /ping`` answering 204; HTTP basic auth:
docs.influxdata.com, "InfluxDB v1 API", /query and /ping), which production (InfluxDB 1.x OSS
and Enterprise in Sasquatch, lsst-sqre/phalanx ``applications/sasquatch``) and Debian's
``influxdb`` 1.6 (the tests) both speak. What the data looks like, from the sources:

- The Telegraf connectors that write the CSC topics into database ``efd`` set no tags and
  stamp each point with ``private_efdStamp`` (phalanx ``applications/sasquatch/
  values-summit.yaml``): one series per topic, so ``GROUP BY`` cannot split instances, and
  two instances' points with the same timestamp would overwrite each other.
- ``salIndex`` exists only for *indexed* components (lsst-ts/ts_xml
  ``python/lsst/ts/xml/topic_info.py``: ``if not indexed: del fields["salIndex"]``): ATDome's
  points have no ``salIndex`` at all (read here as index 0), ESS's carry 1, 101, 102...
  ``private_origin`` (the writer's process id) is in every topic.
- lsst-efd-client (``select_top_n``, ``build_time_range_query``) reads one instance with
  ``WHERE salIndex = N`` on a fully qualified ``"efd"."autogen"."<topic>"``: one query per
  instance, which is what this client avoids.

How one poll reads every instance in one round trip: two or three statements, each
``FROM "<db>"."<rp>"./^lsst\.sal\.<CSC>\.logevent_<topic>$/``, so the server matches the
topics of every CSC itself (no ``SHOW MEASUREMENTS`` round trip, no list of topics to cache
and keep up to date; ``cscs`` narrows the regex to the named CSCs). Each statement is its own
GET, all sent at once: InfluxDB runs the statements of one request one after another
(influxdata/influxdb ``query/executor.go``, ``executeQuery``) and separate requests side by
side, so a poll waits for its slowest statement, not for the sum of them:

1. First poll only: ``SELECT last(private_origin), salIndex ... heartbeat WHERE time > now()
   - lookback``: each CSC's newest heartbeat and the index that sent it. InfluxDB answers
   ``last()`` without reading every point (9 ms for 150 topics holding a day of 1 Hz
   heartbeats, 13 million points, in ``benchmarks/efd_poll.py``), so the age is exact for
   every non-indexed CSC however long its silence, and the newest of all says whether the
   EFD is *fresh*. A later poll needs no ``last()``: statement 2 reads every beat since the
   previous poll, each CSC's newest among them, and the client remembers the older ones.
2. ``SELECT private_origin, salIndex ... heartbeat WHERE time > now() - heartbeat_window``:
   every heartbeat of the last minute (a later poll: since the previous one), reduced here to
   the newest per index (a non-indexed CSC's rows have no ``salIndex``: index 0).
3. ``SELECT summaryState, salIndex ... summaryState WHERE time > now() - since``: summary
   states are events (a few per CSC a day), so reading *every* row is cheap and the newest
   row per index is the answer. The first poll of a client reads ``lookback`` of them (60
   days: at least one monthly upgrade, after which every CSC published its state anew);
   later polls read only what came since the previous poll, plus ``state_margin`` for rows
   that reach the EFD late, and keep the rest from before (an instance's newest row wins).

A later poll reads only what changed: the beats (statement 2) from where the EFD had caught
up at the previous poll, less ``late_margin`` (2 s), the states (statement 3) from there less
``state_margin`` (10 minutes: a state event missed is not followed by another, as a beat
is). A point's time is the message's own (the connectors' ``timestamp_field`` is
``private_efdStamp``, the UTC of the writer's ``private_sndStamp``: phalanx
``applications/sasquatch/charts/telegraf-kafka-consumer``), and it reaches InfluxDB after
Kafka and its connector's flush (``flush_interval`` 1 s there), each connector with its own
lag. So "caught up" is told by the data, not by this host's clock: the oldest of the newest
beats of the instances that beat since (``EfdClient._caught_up``). A connector seconds behind
holds the next poll back by as much, and its beats are read when they land; the margin covers
a beat that lands after a later one of the same topic (Telegraf's batches, 1 s). One later
than that is missed only if no later beat of its instance came since, which the next beat (a
second later) puts right. A poll that hears no new beat reads from where the previous one
did, at most ``heartbeat_window`` back. What a poll does not read again, the client
remembers.

Summit-sized (150 instances, 112 of them indexed, a day of 1 Hz heartbeats;
``benchmarks/efd_poll.py``, figures in ``docs/benchmarks.md``): a steady poll every second
reads ~3-4 s of beats instead of 60 s of them (or 11 s with a fixed 10 s margin), in two
statements instead of three, asked at once; one query per instance, as lsst-efd-client would
do it, takes 150 requests, one after another.
The answer is asked for with ``chunked=true``: InfluxDB's ``max-row-limit`` only truncates
answers that are not chunked (and 1.6 marks a merged, complete series ``partial`` there).

The trade-off, stated plainly: a summary state older than ``lookback`` is not seen (the
instance reads "no state"); the heartbeat age of an indexed instance silent for longer than
``heartbeat_window`` is exact if this client saw it beat before, or if it was the last of its
CSC to beat, otherwise None ("not heard within what we read"). Both only touch CSCs that were
already down: the verdicts (alive within 10 s, fresh within 5 s) rest on exact data. Ages
compare this host's clock with the EFD's timestamps (both NTP-synchronised at the summit).
Freshness is site-wide: one Telegraf connector falling behind while the others keep up would
make its CSCs look silent, which the EFD's data cannot tell.

The package: ``_interface`` holds the :class:`Efd` interface and its data types; ``_answer``
reads InfluxDB's answer to a poll; ``_client`` :class:`EfdClient`, which queries and remembers.
"""

from integrations.efd._client import EfdClient
from integrations.efd._interface import (
    HEARTBEAT_SILENCE,
    NOT_CSCS,
    CscState,
    Efd,
    OfflineDetailedState,
    SiteStates,
    SummaryState,
)

__all__ = [
    "HEARTBEAT_SILENCE",
    "NOT_CSCS",
    "CscState",
    "Efd",
    "EfdClient",
    "OfflineDetailedState",
    "SiteStates",
    "SummaryState",
]
