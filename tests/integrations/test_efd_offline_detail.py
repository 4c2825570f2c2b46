"""The cameras' OFFLINE substate read by the real EFD client from a real InfluxDB 1.x.

A camera CSC beats in OFFLINE as soon as its bridge runs, PUBLISH_ONLY; CCS's setAvailable
makes it AVAILABLE (ts_xml ``OfflineDetailedState``, event ``logevent_offlineDetailedState``).
The client reads each camera's newest substate in one request.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from integrations.efd import EfdClient, OfflineDetailedState
from integrations.errors import IntegrationError
from tests.support.influxdb import Influxd, module_influxd, offline_detailed_line

module_loop = pytest.mark.asyncio(loop_scope="module")
_names = itertools.count()

influxd = pytest_asyncio.fixture(scope="module", loop_scope="module")(module_influxd)
"""One real ``influxd`` for the module."""


@pytest_asyncio.fixture(loop_scope="module")
async def client(influxd: Influxd) -> AsyncIterator[tuple[EfdClient, str]]:
    """A client of a fresh database, and the database's name."""
    name = f"cameras_{next(_names)}"
    await influxd.create_database(name)
    client = EfdClient(url=influxd.url, database=name)
    yield client, name
    await client.aclose()
    await influxd.drop_database(name)


@module_loop
async def test_each_cameras_newest_substate(
    influxd: Influxd, client: tuple[EfdClient, str]
) -> None:
    """Published when it changes: the newest row of each camera's topic, however old."""
    efd, db = client
    now = int(time.time() * 1000)
    available, publish_only = OfflineDetailedState.AVAILABLE, OfflineDetailedState.PUBLISH_ONLY
    await influxd.write(
        db,
        [
            offline_detailed_line("ATCamera", publish_only, now - 3 * 86_400_000),
            offline_detailed_line("ATCamera", available, now - 2 * 86_400_000),
            offline_detailed_line("MTCamera", publish_only, now - 60_000),
            offline_detailed_line("CCCamera", available, now - 1_000),  # not asked for
        ],
    )
    details = await efd.offline_detailed(["ATCamera", "MTCamera", "NeverRan"])
    assert details == {"ATCamera": available, "MTCamera": publish_only}
    assert await efd.offline_detailed([]) == {}


@module_loop
async def test_names_are_checked(client: tuple[EfdClient, str]) -> None:
    """Only SAL component names go into the query's regex."""
    efd, _ = client
    with pytest.raises(IntegrationError, match="not SAL component names"):
        await efd.offline_detailed(["ATCamera|.*"])
