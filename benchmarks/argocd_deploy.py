"""The ``telescope`` sync against the ArgoCD fake whose image pulls contend: the bot vs by hand.

The real ``ArgoCDClient`` and the real runner (``bot/engine/runners/argocd.py``) drive the fake
ArgoCD server on loopback. The twelve applications of the summit's ``telescope`` project each
need a new image after their sync (1.5 to 4 minutes, as the simulated observatory's pulls),
and the pulls contend as on the real cluster: the apps' pods spread over ``--nodes`` nodes and
each node pulls one image at a time (the kubelet's default ``serializeImagePulls: true``). The
ArgoCD API itself does not rate-limit authenticated calls (only failed logins; throttling, if
any, is the ingress's), and the runner asks once per app every 10 s: no API limit is modelled.

Three orders, in the same run, on the same fake:

- the bot: the procedure's order (control-system-test, then LOVE, then the rest four at a
  time), its pulls contending;
- the bot on a fake without contention (every pull at once): what the old table measured;
- by hand, as the page reads in the ArgoCD UI: one app at a time (no contention), plus a
  minute of a person's clicks per app (open it, Sync, Synchronize: the model's assumption).

Times are the fake's, scaled: one real second is ``SCALE`` seconds of the model (the runner's
10 s polls take 0.1 s), and the table gives them back in model minutes.

    .venv/bin/python -m benchmarks.argocd_deploy [--repeat 3] [--nodes 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from types import SimpleNamespace
from typing import Any

from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.config.sites import Prepull, default_sites
from bot.engine.runners import argocd
from integrations.argocd import ArgoCDClient
from state.actions import ArgocdSync
from tests.support.clocks import ShortSleeps
from tests.support.fakes.argocd import TOKEN, FakeArgoCD

TELESCOPE_APPS = default_sites()["summit"].argocd_projects["telescope"]
"""The summit's telescope project, as the bot's site defaults list it (from Phalanx)."""

SCALE = 100.0
"""Model seconds per real second: the runner's clock, and the fake's durations."""

SYNC_S, SETTLE_S, CLICKS_S = 20.0, 30.0, 60.0
"""Model seconds: a sync operation, the pods turning Healthy after the pull, a person's clicks."""


def pull_seconds(name: str) -> float:
    """The app's image pull in model seconds: 1.5 to 4 minutes, fixed per app."""
    return 90.0 + random.Random(name).uniform(0, 150)


async def one(parallel: int, nodes: int | None, scale: float = SCALE) -> float:
    """Model seconds to sync every telescope app with this bound."""
    fake = FakeArgoCD(run_seconds=SYNC_S / scale, settle_seconds=SETTLE_S / scale, nodes=nodes)
    for name in TELESCOPE_APPS:
        fake.add(name, pull_seconds=pull_seconds(name) / scale)
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    client = ArgoCDClient(url=f"http://127.0.0.1:{server.port}/argo-cd", token=SecretStr(TOKEN))

    async def report(_line: str) -> None:
        return None

    ctx: Any = SimpleNamespace(
        systems=SimpleNamespace(argocd=client),
        site=SimpleNamespace(prepull=Prepull()),  # no pre-pull: the images are pulled by the sync
        clock=ShortSleeps(scale),
        report=report,
    )
    action = ArgocdSync.model_validate({
        "type": "argocd.sync", "project": "telescope", "first": ["control-system-test", "love"],
        "parallel": parallel, "expected": "3h",
    })  # fmt: skip
    began = time.perf_counter()
    try:
        await argocd.sync(ctx, action)
    finally:
        await client.aclose()
        await server.close()
    return (time.perf_counter() - began) * scale


async def measure(repeat: int, nodes: int, scale: float = SCALE) -> list[str]:
    """The three orders, ``repeat`` times each; the Markdown table."""
    bot = statistics.median([await one(4, nodes, scale) for _ in range(repeat)])
    free = statistics.median([await one(4, None, scale) for _ in range(repeat)])
    serial = statistics.median([await one(1, None, scale) for _ in range(repeat)])
    by_hand = serial + len(TELESCOPE_APPS) * CLICKS_S
    rows = [
        (f"bot: 2 first, then 4 at a time; pulls contend on {nodes} nodes", bot),
        ("bot, same order, every pull at once (no contention: the old fake)", free),
        ("by hand in the ArgoCD UI: one app at a time, +1 min of clicks each", by_hand),
    ]
    lines = [
        f"| {len(TELESCOPE_APPS)} telescope apps (median of {repeat}) | model minutes | x bot |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {seconds / 60:.1f} | {seconds / bot:.2f} |" for label, seconds in rows]
    return lines


def table(repeat: int, nodes: int, scale: float = SCALE) -> list[str]:
    """The Markdown table (``scale``: model seconds per real second)."""
    return asyncio.run(measure(repeat, nodes, scale))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=3, help="nodes the apps' pods spread over")
    args = parser.parse_args()
    print("\n".join(table(args.repeat, args.nodes)))
