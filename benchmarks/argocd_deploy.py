"""The ``telescope`` sync against the ArgoCD fake: bounded-parallel (the bot) vs sequential.

The real ``ArgoCDClient`` and the real runner (``bot/runners/argocd.py``) drive the fake
ArgoCD server on loopback, whose applications take ``--run`` seconds to sync and ``--settle``
more to turn Healthy (the real ones take minutes: image pulls; the ratio is what counts).
The same twelve applications of the summit's ``telescope`` project, twice in the same run:
the procedure's order (control-system-test, then LOVE, then the rest four at a time) and one
by one. Opt-in, not in CI:

    PYTHONPATH=. .venv/bin/python benchmarks/argocd_deploy.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from types import SimpleNamespace
from typing import Any

from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.config.sites import default_sites
from bot.engine.runners import argocd
from integrations.argocd import ArgoCDClient
from state.actions import ArgocdSync
from tests.support.clocks import ShortSleeps
from tests.support.fakes.argocd import TOKEN, FakeArgoCD

TELESCOPE_APPS = default_sites()["summit"].argocd_projects["telescope"]
"""The summit's telescope project, as the bot's site defaults list it (from Phalanx)."""

POLL_SPEED = 100.0
"""The runner polls every 10 s of its clock: 0.1 s of real time here."""


async def one(parallel: int, run: float, settle: float) -> float:
    """Seconds to sync every telescope app with this bound."""
    fake = FakeArgoCD(run_seconds=run, settle_seconds=settle)
    for name in TELESCOPE_APPS:
        fake.add(name)
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    client = ArgoCDClient(url=f"http://127.0.0.1:{server.port}/argo-cd", token=SecretStr(TOKEN))

    async def report(_line: str) -> None:
        return None

    ctx: Any = SimpleNamespace(
        systems=SimpleNamespace(argocd=client), clock=ShortSleeps(POLL_SPEED), report=report
    )
    action = ArgocdSync.model_validate({
        "type": "argocd.sync", "project": "telescope", "first": ["control-system-test", "love"],
        "parallel": parallel, "expected": "2h",
    })  # fmt: skip
    began = time.perf_counter()
    try:
        await argocd.sync(ctx, action)
    finally:
        await client.aclose()
        await server.close()
    return time.perf_counter() - began


async def main(repeat: int, run: float, settle: float) -> None:
    """Both orders, ``repeat`` times, and the table."""
    bot = [await one(4, run, settle) for _ in range(repeat)]
    serial = [await one(1, run, settle) for _ in range(repeat)]
    b, s = statistics.median(bot), statistics.median(serial)
    apps = len(TELESCOPE_APPS)
    print(f"# {apps} telescope apps, sync {run:g} s + settle {settle:g} s each, median of {repeat}")
    print("| order                                        | seconds | ratio |")
    print("|----------------------------------------------|---------|-------|")
    print(f"| bot: 2 first, then 4 at a time               | {b:7.2f} |  1.00 |")
    print(f"| page by hand: one by one                     | {s:7.2f} | {s / b:5.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--run", type=float, default=0.6, help="seconds a sync runs")
    parser.add_argument("--settle", type=float, default=0.4, help="seconds to turn Healthy")
    args = parser.parse_args()
    asyncio.run(main(args.repeat, args.run, args.settle))
