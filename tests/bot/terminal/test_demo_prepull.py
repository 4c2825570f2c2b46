"""``upgrade-bot demo --prepull``: the run goes on while the images pull.

A failed image is named and left to the deployment, and the deployment phase is shorter.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot.terminal.demo import DemoOptions, run_demo


async def demo(tmp_path: Path, *, prepull: bool, faults: tuple[str, ...] = ()) -> str:
    out = io.StringIO()
    db = tmp_path / f"demo-{prepull}.db"
    options = DemoOptions(speed=None, prepull=prepull, faults=faults, db=db, out=out)
    assert await run_demo(options) == 0, out.getvalue()[-3000:]
    return out.getvalue()


def deployment_seconds(text: str) -> int:
    """The deployment phase of the run's summary, in seconds."""
    found = re.search(r"Per phase: .*deployment (?:(\d+)h)?(\d+)m(\d+)s", text)
    assert found is not None, text[-2000:]
    hours, minutes, seconds = (int(g or 0) for g in found.groups())
    return hours * 3600 + minutes * 60 + seconds


@pytest.mark.slow
@pytest.mark.asyncio
async def test_the_upgrade_goes_on_and_a_failed_image_does_not_block(tmp_path: Path) -> None:
    text = await demo(tmp_path, prepull=True, faults=("prepull-fail:auxtel",))
    assert "prepull-images: pre-pulling " in text
    assert re.search(r"image\(s\) of 13 application\(s\) at tickets/DM-48000:", text)
    assert "                   auxtel: " in text  # counted per application, for the lead
    failing = re.search(r"Pre-pull: `(\S+): (ErrImagePull|ImagePullBackOff) \(", text)
    assert failing is not None
    image = failing.group(1)
    assert f"Pre-pull: `{image}` left to the deployment" in text
    done = text.index("Pre-pull done: every node has the ")
    assert text.index("▶ 4/26 m2-closed-loop") < done  # the run went on meanwhile
    assert f"left to the deployment: {image}. The DaemonSet is removed." in text
    assert "Run completed." in text


@pytest.mark.slow
@pytest.mark.asyncio
async def test_the_deployment_is_shorter_with_the_images_pulled(tmp_path: Path) -> None:
    without = await demo(tmp_path, prepull=False)
    with_prepull = await demo(tmp_path, prepull=True)
    assert "prepull" not in without  # off by default
    before, after = deployment_seconds(without), deployment_seconds(with_prepull)
    assert after < before - 10 * 60, (before, after)
