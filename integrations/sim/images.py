"""The simulated site's images: what each app runs, how long a pull takes, the nodes' caches.

**The pull model** (its assumptions, to be argued with; none is measured here):

1. *Sizes.* An application's new images together are ``S`` MB compressed,
   ``S = THROUGHPUT x spread(app + "/pull", 90, 240)``: 1.2 to 3.1 GB. Rubin's CSC images (a
   conda environment with the ts packages on a common base) are in that range; layers shared
   between images are not modelled (each app pays its full size), which favours neither side.
   An app with several images (one per CSC, per LOVE Deployment) splits ``S`` evenly.
2. *Throughput.* Every node pulls at ``THROUGHPUT`` = 13 MB/s from the site's registry,
   during the deployment and during the pre-pull alike: in both every node pulls at once, so
   the pre-pull gets no faster registry than the sync. This gives the 1.5 to 4 minutes per
   application the simulator always had (the pull is exactly the old ``spread``).
3. *One pull at a time.* The kubelet pulls one image at a time (``serializeImagePulls``, its
   default) and the pre-pull's init containers run in order: on a node the pre-pull's image
   ``k`` is there at ``start + sum(size_j for j <= k) / THROUGHPUT``. The nodes are alike (one
   timeline for all), and an image that cannot be pulled holds the ones after it, until the
   DaemonSet is replaced without it.
4. *A cached app* starts its containers ``CACHED`` seconds after its sync (the kubelet finds the
   image; with ``imagePullPolicy: Always`` it still asks the registry for the manifest).
5. *A partly cached app* pulls what is missing at ``THROUGHPUT``. While the pre-pull still
   pulls, the kubelet finishes the pre-pull's current image first (the sync's pull queues
   behind it): the pre-pull can cost a sync up to one image's time.
6. Ignored, in the pre-pull's favour: a sync's pulls delaying the pre-pull's later images (in
   the demo the pre-pull ends long before the deployment starts), and disk pressure evicting
   cached images (the site's nodes have room for a cycle's images).
"""

from __future__ import annotations

import math
from typing import Any

from integrations.sim.catalog import LOVE_DEPLOYMENTS
from integrations.sim.world import World, spread

REGISTRY = "ts-dockerhub.lsst.org"
THROUGHPUT = 13.0
"""MB/s per node from the site's registry, every node pulling at once (assumption 2)."""
CACHED = 5.0
"""Seconds from a sync to its containers starting when every image is cached (assumption 4)."""
UNKNOWN_MB = 1500.0
"""The size of an image that is no app's (the lead added it by hand)."""
FAIL_AFTER = 20.0
"""Seconds from a failing image's turn to the kubelet saying ErrImagePull."""
NODES = 6
"""The simulated cluster's worker nodes (a stand-in, not the real sites' count)."""


def pull_seconds(app: str) -> float:
    """Seconds to pull all of ``app``'s new images on a node with none of them (assumption 1)."""
    return spread(app + "/pull", 90, 240)


def app_images(world: World, app: str, tag: str) -> tuple[str, ...]:
    """The images ``app``'s manifests run: one per CSC, per LOVE Deployment, or its own.

    A CSC's instances (ESS:1, ESS:2...) are Jobs of the same image.
    """
    cscs = sorted({spec.name.lower() for spec in world.specs.values() if spec.where == app})
    names = cscs or (list(LOVE_DEPLOYMENTS) if app == "love" else [app])
    return tuple(f"{REGISTRY}/{name}:{tag}" for name in names)


def sizes(world: World, tag: str) -> dict[str, tuple[str, float]]:
    """Every app's image -> (its app, its size in MB)."""
    found: dict[str, tuple[str, float]] = {}
    for app in world.doc["apps"]:
        images = app_images(world, app, tag)
        for image in images:
            found[image] = (app, pull_seconds(app) * THROUGHPUT / len(images))
    return found


def tag_of(world: World) -> str:
    """The new cycle's image tag (the release's cycle)."""
    return str(world.doc.get("cycle") or "next")


def schedule(world: World, images: tuple[str, ...], now: float) -> dict[str, Any]:
    """A pre-pull of ``images`` from ``now``: when each is on the nodes, or fails (assumption 3).

    Images the nodes already have (an earlier pre-pull of this run) keep their time.
    """
    known = sizes(world, tag_of(world))
    failing = {app_images(world, app, tag_of(world))[0] for app in world.faults("prepull-fail")}
    before = world.doc.get("prepull") or {}
    cached = {i: t for i, t in before.get("ready", {}).items() if t is not None and t <= now}
    ready: dict[str, float | None] = {}
    failed: dict[str, float] = {}
    at, blocked = now, False
    for image in images:
        if image in cached:
            ready[image] = cached[image]
            continue
        size = known.get(image, ("", UNKNOWN_MB))[1]
        if blocked:
            ready[image] = None
        elif image in failing:
            failed[image] = at + FAIL_AFTER
            ready[image], blocked = None, True
        else:
            at += size / THROUGHPUT
            ready[image] = at
    return {"images": list(images), "ready": ready, "failed": failed, "removed": None}


def cached_at(world: World, image: str) -> float:
    """When the nodes have ``image`` (``inf``: not pulled, and not going to be by the pre-pull)."""
    prepull = world.doc.get("prepull")
    if not prepull:
        return math.inf
    at = prepull["ready"].get(image)
    removed = prepull["removed"]
    if at is None or (removed is not None and at > removed):
        return math.inf
    return float(at)


def start_delay(world: World, app: str, now: float) -> float:
    """Seconds from ``app``'s sync to its images being on the node (assumptions 4 and 5)."""
    images = app_images(world, app, tag_of(world))
    own = pull_seconds(app) / len(images)
    missing = [i for i in images if cached_at(world, i) > now]
    if not missing:
        return CACHED
    prepull = world.doc.get("prepull")
    busy = now
    if prepull and prepull["removed"] is None:  # the kubelet ends the pre-pull's current pull
        due = [float(t) for t in prepull["ready"].values() if t is not None and t > now]
        busy = min(due, default=now)
    still = [i for i in missing if cached_at(world, i) > busy]
    return busy - now + own * len(still) + (CACHED if not still else 0.0)
