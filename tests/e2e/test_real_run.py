"""A whole run of the test stand through the real clients, against one coupled site on loopback.

Every client is tested alone over its protocol in ``tests/integrations``, and the engine against
the simulated observatory in ``tests/bot``; here the engine drives the real clients that
:func:`bot.systems.real_site` builds from a configuration file and the environment's secrets,
against the LOVE, ArgoCD, Kubernetes and GitHub fakes, a real ``influxd`` as the EFD and a real
``sshd`` as the camera mcm hosts, all running at once and made one site by
:class:`tests.support.coupling.World`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from aiohttp.test_utils import TestServer

from bot.config.file import load_config
from bot.config.procedures import DEFAULT_PROCEDURE, load_procedure
from bot.config.runs import run_steps
from bot.config.sites import SiteConfig, default_site_fields, default_sites
from bot.engine.changes import Change, RunChanged
from bot.engine.engine import Engine
from bot.engine.ticker import Ticker
from bot.terminal.leads import SimulatedLead
from bot.wiring.real import real_site
from integrations.clock import WallClock
from integrations.efd import SummaryState
from integrations.kube import PROPAGATION
from integrations.sim.catalog import LOVE_DEPLOYMENTS, CscSpec, cscs
from state.events import Event, StepFailed
from state.names import RunKind, Site
from state.procedure import Procedure, parse_procedure
from state.run import Run, RunStatus, StepStatus
from state.store import Store
from state.store_url import sqlite_url
from tests.support.clocks import ShortSleeps
from tests.support.coupling import USER_JOB, CameraTeam, SiteAnnouncements, World
from tests.support.fakes import argocd, github, kube
from tests.support.fakes.argocd import FakeArgoCD
from tests.support.fakes.github import CheckRun, FakeGitHub
from tests.support.fakes.kube import FakeKube
from tests.support.fakes.love import FakeLove
from tests.support.influxdb import Influxd, influxd_path
from tests.support.sshd import SSHD, Sshd, start_sshd
from tests.support.waiting import until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(influxd_path() is None, reason="needs influxd (Debian package influxdb)"),
    pytest.mark.skipif(not SSHD.exists(), reason="needs OpenSSH's sshd (.ci/run)"),
]

LEAD = "U_LEAD"
CYCLE = "c0040"
PHALANX_BRANCH = "tickets/DM-48000"
KIND: RunKind = "cycle-upgrade"
LIMIT = 120.0
"""Wall seconds the whole run may take before the test gives up (it takes about 25)."""
WATCH_POLL = "1s"
WATCH_DEADLINE = "1m"
ARGOCD_POLL = "1s"
"""Between the ArgoCD runner's looks at a syncing app (10 s in the default procedure)."""
LEAD_SPEED = 300.0
"""The simulated lead's 30 s of reading a step take 0.1 s."""
EFD_USER, EFD_PASSWORD = "upgrade-bot", "efd-reader-password"
EFD_ADMIN = ("efd-admin", "efd-admin-password")
IGNORED = "MTM1M3TS"
"""Left alone by the shutdown (configured for this test: the test stand has no ignore list)."""
QUEUES = ["ScriptQueue:3", "ScriptQueue:2", "ScriptQueue:1"]
CONFIG_REPOS = ("lsst-ts/ts_config_ocs", "lsst-ts/ts_config_attcs")
"""The test's configuration repositories (the sites leave them unset: not in the pages)."""


def procedure() -> Procedure:
    """The default procedure with its two EFD watches polling every second, deadline a minute.

    Every other step is the default's: the real servers run in real time, and only the
    watches' waits (10 and 15 s between polls, 10 and 30 minutes to their deadlines) would
    make the test long or, if the site never got there, hang.
    """
    text = resources.files("bot.config").joinpath("data", DEFAULT_PROCEDURE).read_text("utf-8")
    raw = yaml.safe_load(text)
    for step in raw["steps"]:
        if step["action"]["type"] == "efd.wait_for_states":
            step["action"].update(poll=WATCH_POLL, deadline=WATCH_DEADLINE)
        if step["action"]["type"] == "argocd.sync":
            step["action"].update(poll=ARGOCD_POLL)
    return parse_procedure(yaml.safe_dump(raw), "default procedure, short watches")


@dataclass
class Servers:
    """Every server of the site, running."""

    love: FakeLove
    argocd: FakeArgoCD
    kube: FakeKube
    github: FakeGitHub
    efd: Influxd
    sshd: Sshd
    urls: dict[str, str]


async def serve(app: Any) -> TestServer:
    """Serve an aiohttp application on 127.0.0.1 (the caller closes it)."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest_asyncio.fixture
async def servers(tmp_path: Path) -> AsyncIterator[Servers]:
    """LOVE, ArgoCD, Kubernetes and GitHub fakes, influxd with a read-only user, sshd."""
    love, fake_kube = FakeLove(), FakeKube(name="pillan")
    fake_argocd = FakeArgoCD(run_seconds=0.1, settle_seconds=0.1)
    fake_github = FakeGitHub()
    async with contextlib.AsyncExitStack() as stack:
        efd = await stack.enter_async_context(Influxd(auth=True))
        (tmp_path / "sshd").mkdir()
        sshd = await start_sshd(tmp_path / "sshd")
        stack.push_async_callback(sshd.stop)
        await love.start()
        stack.push_async_callback(love.stop)
        web = {}
        for name, fake in (("argocd", fake_argocd), ("kube", fake_kube), ("github", fake_github)):
            web[name] = await serve(fake.app())
            stack.push_async_callback(web[name].close)
        stack.callback(fake_kube.release)  # slow answers end before the server closes
        await efd.create_admin(*EFD_ADMIN)
        await efd.create_database("efd")
        await efd.query(f"CREATE USER \"{EFD_USER}\" WITH PASSWORD '{EFD_PASSWORD}'")
        await efd.query(f'GRANT READ ON "efd" TO "{EFD_USER}"')
        urls = {
            "love_url": love.url,
            "efd_url": efd.url,
            "argocd_url": str(web["argocd"].make_url(argocd.ROOT)),
            "kube_api": str(web["kube"].make_url("/")).rstrip("/"),
            "github_api": str(web["github"].make_url("/")).rstrip("/"),
        }
        yield Servers(love, fake_argocd, fake_kube, fake_github, efd, sshd, urls)


def configure(
    tmp_path: Path, s: Servers, monkeypatch: pytest.MonkeyPatch
) -> dict[Site, SiteConfig]:
    """The test stand pointed at the servers: a configuration file, and secrets in the env.

    The camera bridges are the test stand's own (auxtel-mcm, comcam-mcm), reached at the sshd
    through ``ssh_addresses`` (as a forwarded port would be), their key known by their names.
    """
    hosts = sorted({b["host"] for b in default_site_fields()["tts"]["camera_bridges"]})
    known = tmp_path / "known_hosts"
    known.write_text(s.sshd.known_hosts(*hosts))
    site = {
        "ignore": [IGNORED],
        "config_repos": list(CONFIG_REPOS),
        "config_branch": "{cycle}",
        "audiences": {"camera": {"channels": ["#tucson-teststand"], "groups": ["camera-team"]}},
        "endpoints": {
            **s.urls,
            "known_hosts": str(known),
            "ssh_user": s.sshd.user,
            "ssh_addresses": dict.fromkeys(hosts, f"127.0.0.1:{s.sshd.port}"),
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"sites": {"tts": site}}))
    secrets = {
        "UPGRADE_BOT_TTS_LOVE_PASSWORD": s.love.password,
        "UPGRADE_BOT_TTS_EFD_PASSWORD": EFD_PASSWORD,
        "UPGRADE_BOT_TTS_ARGOCD_TOKEN": argocd.TOKEN,
        "UPGRADE_BOT_TTS_KUBE_TOKEN": kube.TOKEN,
        "UPGRADE_BOT_TTS_SSH_KEY": s.sshd.client_key,
        "UPGRADE_BOT_GITHUB_TOKEN": github.TOKEN,
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("UPGRADE_BOT_TTS_SSH_KEY_PASSPHRASE", raising=False)
    _, sites = load_config(path)
    return sites


def release(fake: FakeGitHub, site: SiteConfig) -> None:
    """The cycle's branches pushed, and the Phalanx pull request merged with green checks."""
    merged = {"state": "closed", "merged_at": "2026-01-05T10:00:00Z"}
    fake.pull("lsst-sqre/phalanx", PHALANX_BRANCH, checks=[CheckRun("ci")], **merged)
    for repo in site.config_repos or ():
        fake.push(repo, CYCLE)


@dataclass
class Upgrade:
    """A finished run and everything that took part in it."""

    run: Run
    events: list[Event]
    site: SiteConfig
    specs: list[CscSpec]
    world: World
    announcer: SiteAnnouncements

    @property
    def report(self) -> str:
        """Each step's status, attempt and summary (or error), for the failure messages."""
        return report(self.run)


def report(run: Run) -> str:
    """Each step's status, attempt and summary (or error), one line each."""
    return "\n".join(
        f"{s.id:<26} {s.status.value:<16} #{s.attempt} {s.outcome or ''}"
        + (f" | issues: {'; '.join(s.issues)}" if s.issues else "")
        for s in run.steps
    )


async def upgrade(s: Servers, sites: dict[Site, SiteConfig], store: Store) -> Upgrade:
    """Build the site's world and real clients, and let a simulated lead run the upgrade."""
    site = sites["tts"]
    specs = cscs("tts", tuple(b.camera for b in site.camera_bridges))
    world = World(
        site=site,
        specs=specs,
        efd=s.efd,
        database="efd",
        love=s.love,
        argocd=s.argocd,
        kube=s.kube,
        sshd=s.sshd,
    )
    world.furnish()
    release(s.github, site)
    team = CameraTeam(site, s.sshd)
    announcer = SiteAnnouncements(answers={"camera-stage-2": team.start_bridges})
    real = real_site(site, announcer)
    engine = Engine(
        store=store, procedure=procedure(), sites=sites, systems={"tts": real.systems},
        clock=WallClock(),
    )  # fmt: skip
    events: list[Event] = []

    async def keep(change: Change) -> None:
        if isinstance(change, RunChanged):
            events.extend(change.events)

    lead = SimulatedLead(engine=engine, clock=ShortSleeps(LEAD_SPEED), user=LEAD)
    engine.subscribe(keep)
    engine.subscribe(lead)
    ticker = Ticker(engine=engine, interval=0.5)
    await world.start()
    try:
        await engine.start()
        ticker.start()
        run = await engine.open_run(LEAD, "tts", KIND, cycle=CYCLE, phalanx_branch=PHALANX_BRANCH)
        either: set[asyncio.Future[Any]] = {lead.finished, world.task}  # a world error ends it
        ended, _ = await asyncio.wait(either, timeout=LIMIT, return_when=asyncio.FIRST_COMPLETED)
        run = await store.get(run.run_id)
        assert lead.finished in ended, f"the run did not end in {LIMIT:.0f}s:\n{report(run)}"
        async with asyncio.timeout(10):  # the camera team may still be closing its session
            await asyncio.gather(*announcer.answered, return_exceptions=True)
        # The run does not wait on the camera team's CSCs (Stage 2): the world follows the
        # bridges they started once a second.
        cameras = [f"{bridge.camera}:0" for bridge in site.camera_bridges]
        await until(lambda: set(cameras) <= set(world.running()), 10)
    finally:
        await ticker.aclose()
        await engine.aclose()
        await real.close()
        await world.stop()
    return Upgrade(run, events, site, specs, world, announcer)


def expected_summaries(specs: list[CscSpec], site: SiteConfig) -> dict[str, str]:
    """What each step's summary must say (a regular expression), from the site built."""
    beating = len(specs)
    offline = beating - sum(s.name in {IGNORED, "ScriptQueue"} for s in specs)
    judged = [s.ref for s in specs if s.name != IGNORED]
    ignored = beating - len(judged)
    auto = [ref for ref in judged if ref in site.auto_enabled]
    apps = len(site.argocd_projects["telescope"])
    jobs = sum(not s.where.startswith("bridge:") for s in specs)
    deployments = len(LOVE_DEPLOYMENTS) + 1  # and kafka-producers'
    return {
        "preflight": rf"all 6 systems reachable; {beating} CSCs beating",
        "announce-start": r"announced nublado-going-down in #tucson-teststand",
        "shutdown-cscs": r"system_wide_shutdown\.py ended DONE \(script 100001 on ScriptQueue 1\)",
        "verify-offline": (
            rf"{offline}/{offline} OFFLINE \(by heartbeat\); {ignored} ignored \(left as they "
            rf"are\), 3 ScriptQueues \(down last, in their own step\)"
        ),
        "offline-stragglers": r"nothing to do: no CSC is still up",
        "scriptqueues-offline": (
            r"ScriptQueue:3, ScriptQueue:2, ScriptQueue:1 OFFLINE: their heartbeats stopped "
            r"\(set_summary_state\.py on ScriptQueue 1 was ended by its own queue's exit, as "
            r"expected\)"
        ),
        "stop-camera-bridges": (
            r"2 unit\(s\) inactive: auxtel-mcm\.tu\.lsst\.org:ats-ocs-bridge\.service, "
            r"comcam-mcm\.tu\.lsst\.org:comcam-ocs-bridge\.service"
        ),
        "announce-camera-stage-1": (
            r"announced camera-stage-1 in #tucson-teststand, mentioning camera-team"
        ),
        "kube-cleanup": (
            rf"deleted {deployments} Deployment, 1 HorizontalPodAutoscaler, {jobs} Job on pillan"
        ),
        "nublado-cleanup": r"deleted 3 Namespace on pillan",
        "phalanx-pr": r"lsst-sqre/phalanx#\d+ merged \(https://github\.com/lsst-sqre/phalanx/pull/\d+\)",
        "config-branches": rf"branch {CYCLE} pushed to {len(CONFIG_REPOS)} repositories",
        "sync-science-platform": r"1 app\(s\) Synced and Healthy: science-platform",
        "sync-nublado": r"1 app\(s\) Synced and Healthy: nublado",
        "sync-sasquatch": r"1 app\(s\) Synced and Healthy: sasquatch",
        "sync-telescope": rf"{apps} app\(s\) Synced and Healthy: control-system-test, love, .*",
        "announce-camera-stage-2": (
            r"announced camera-stage-2 in #tucson-teststand, mentioning camera-team"
        ),
        # The camera CSCs are the camera team's from Stage 2 on: the watch may end before they
        # are up (waiting on the camera team), or, on this compressed run, a few seconds after
        # their bridges stopped (still heard: up in OFFLINE); the others are all STANDBY.
        "verify-end-states": (
            rf"{beating} CSCs: (?:{len(judged) - len(auto)}|{len(judged) - len(auto) - 1}|"
            rf"{len(judged) - len(auto) - 2}) STANDBY, "
            rf"{len(auto)} ENABLED \(by themselves\)(?:, [12] OFFLINE \(beating\))?"
            rf"(?:, [12] waiting on the camera team)?; {ignored} ignored \(left as they are\)"
        ),
        "enable-kept-cscs": (
            r"set_summary_state\.py ended DONE \(script 100003 on ScriptQueue 1, 2 in data\)"
        ),
        "announce-nublado-available": (r"announced nublado-available in #tucson-teststand"),
    }


def check_steps(u: Upgrade) -> None:
    """20 steps, the default procedure's at TTS, each succeeded at once, each summary as it should.

    The pre-pull, off unless a site enables it, is not in the run. The stragglers step, with
    none, never ran: nothing to do, no approval asked.
    """
    text = u.report
    assert u.run.status is RunStatus.COMPLETED, text
    default = [step.id for step in run_steps(u.site, load_procedure().for_run("tts", KIND))]
    assert [state.id for state in u.run.steps] == default, text
    assert len(default) == 20
    attempts = {st.id: st.attempt for st in u.run.steps}
    assert all(st.status is StepStatus.SUCCEEDED for st in u.run.steps), text
    assert attempts == {**dict.fromkeys(attempts, 1), "offline-stragglers": 0}, text
    assert not [e for e in u.events if isinstance(e, StepFailed)], text
    outcomes = {state.id: state.outcome or "" for state in u.run.steps}
    for step_id, pattern in expected_summaries(u.specs, u.site).items():
        assert re.fullmatch(pattern, outcomes[step_id]), f"{step_id}: {outcomes[step_id]!r}\n{text}"
    assert sorted(u.run.baseline or ()) == sorted(spec.ref for spec in u.specs)


def check_announcements(u: Upgrade) -> None:
    """Four announcements, once each, in order; the camera team answered; no false alarm."""
    assert u.announcer.posted == [
        ("tts", "nublado-going-down"),
        ("tts", "camera-stage-1"),
        ("tts", "camera-stage-2"),
        ("tts", "nublado-available"),
    ]
    [answer] = u.announcer.answered
    assert [r.active for r in answer.result()] == ["active", "active"]
    # Nothing went wrong: the bot had nothing to say by itself but, maybe, the run's summary.
    said = [n.text for _, n in u.announcer.notices if n.key != "summary"]
    assert not said, "\n".join(said)


def check_love(u: Upgrade, love: FakeLove) -> None:
    """Three scripts on ScriptQueue 1, each with the site's configuration.

    The one that took the queues down was terminated by its own queue's exit, never DONE.
    """
    scripts = sorted(love.scripts.values(), key=lambda script: script.index)
    assert [(x.path, x.queue, x.process_state) for x in scripts] == [
        ("system_wide_shutdown.py", 1, "DONE"),
        ("set_summary_state.py", 1, "TERMINATED"),
        ("set_summary_state.py", 1, "DONE"),
    ]
    shutdown, queues, kept = (yaml.safe_load(x.config) for x in scripts)
    assert shutdown["start_with"] == ["Watcher"]
    assert shutdown["ignore"] == [IGNORED]
    assert shutdown["user"] == LEAD
    assert u.run.run_id in shutdown["reason"]
    assert queues == {
        "data": [[q, "OFFLINE"] for q in QUEUES],
        "mute_alarms": False,
        "mute_duration": 30.0,
    }
    assert kept["data"] == [["ESS:*", "ENABLED"], ["Watcher:0", "ENABLED"]]


def check_world(u: Upgrade) -> None:
    """The Watcher first, the ignored CSC never commanded, ScriptQueue 1 the very last; back up.

    At the end every CSC runs again: the auto-enabled and the kept ones ENABLED, the others
    STANDBY.
    """
    world = u.world
    sent_offline = [ref for ref, state in world.commanded if state is SummaryState.OFFLINE]
    assert sent_offline[0] == "Watcher:0"
    assert sent_offline[-3:] == QUEUES
    assert not any(ref.startswith(IGNORED) for ref, _ in world.commanded)
    assert world.running() == [spec.ref for spec in u.specs]
    kept = {ref for ref in world.cscs if ref.startswith("ESS:")} | {"Watcher:0"}

    def want(ref: str) -> SummaryState:
        enabled = ref in u.site.auto_enabled or ref in kept
        return SummaryState.ENABLED if enabled else SummaryState.STANDBY

    wrong = {ref: csc.state for ref, csc in world.cscs.items() if csc.state is not want(ref)}
    assert not wrong, wrong


def check_bridges(sshd: Sshd) -> None:
    """Each bridge stopped (by the bot) and then started (by the camera team), and active."""
    calls = sshd.calls()
    for unit in ("ats-ocs-bridge.service", "comcam-ocs-bridge.service"):
        stop, start = f"sudo -n systemctl stop {unit}", f"sudo -n systemctl start {unit}"
        assert calls.count(stop) == 1, calls
        assert calls.count(start) == 1, calls
        assert calls.index(stop) < calls.index(start)
        assert sshd.unit_state(unit) == "active"


def check_cluster(u: Upgrade, fake: FakeKube) -> None:
    """What cleanup_all and cleanup_nublado delete, each object with its propagation policy."""
    deletes = fake.deletes()
    objects = [c for c in deletes if c.path.count("/") > 4]
    assert objects, "no object deletion reached the Kubernetes fake"
    assert all(c.policy == PROPAGATION for c in objects), [(c.path, c.policy) for c in objects]
    jobs = sorted(c.path.rsplit("/", 1)[1] for c in objects if "/jobs/" in c.path)
    in_kube = [spec for spec in u.specs if not spec.where.startswith("bridge:")]
    assert jobs == sorted(spec.job for spec in in_kube)
    assert fake.names("jobs", "uws") == sorted(["ocps-1", "ocps-2", USER_JOB])  # back, and kept
    assert sorted(c.path for c in deletes if c.path.count("/") == 4) == [
        f"/api/v1/namespaces/nublado-{user}" for user in ("adam", "bruno", "cristian")
    ]
    assert u.world.killed == [f"{IGNORED}:0"]  # the one CSC still running at the cleanup


def check_argocd(fake: FakeArgoCD) -> None:
    """Syncs in the procedure's order, each app once, all Synced and Healthy at the end."""
    synced = [c.path.split("/")[-2] for c in fake.of("POST", "/sync")]
    first = ["science-platform", "nublado", "sasquatch", "control-system-test", "love"]
    assert synced[:5] == first
    assert sorted(synced[5:]) == sorted(
        set(default_sites()["tts"].argocd_projects["telescope"]) - set(first)
    )
    assert all(app.sync == "Synced" and app.health == "Healthy" for app in fake.apps.values())


@pytest.mark.asyncio
async def test_a_cycle_upgrade_of_the_test_stand_completes_through_the_real_clients(
    servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default procedure's 20 tts steps, each succeeding at its first attempt, for real.

    The procedure is the default one with its two EFD watches polling every second and a
    deadline of one minute and its ArgoCD syncs polling every second (:func:`procedure`); the
    engine runs on the wall clock and the simulated lead reads each step for 0.1 s instead of
    30. The lead approves everything; a
    step that fails would be retried and then marked done by hand, so every step is checked
    to have *succeeded* at its first attempt.
    """
    sites = configure(tmp_path, servers, monkeypatch)
    store = await Store.open(sqlite_url(str(tmp_path / "runs.db")))
    try:
        done = await upgrade(servers, sites, store)
    finally:
        await store.aclose()
    check_steps(done)
    check_announcements(done)
    check_love(done, servers.love)
    check_world(done)
    check_bridges(servers.sshd)
    check_cluster(done, servers.kube)
    check_argocd(servers.argocd)
