"""The compose deployment without Docker: the same commands, the same variables, real servers.

Redis (a database index of its own) and a PostgreSQL database made for the test stand in for the
``redis`` and ``postgres`` services; then, as compose starts them: ``digitize migrate``, two
``digitize worker`` processes with metrics, ``digitize watch --queue --poll`` on an inbox and
``digitize review``. Scans go in through ``submit`` and through the watched folder, and must end
done in the database, visible in the web app's API, counted by the workers' metrics.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy_helpers import http_get, sample, scrape, status_counts, wait_for
from tests.fixtures_db import DIGITIZE, REPO, free_port, job_env, run_cli

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(240)]
API_TOKEN = "integration-test-token-0123456789"


def compose_argv(service: str) -> list[str]:
    """The service's command from docker-compose.yml (so this test runs what compose runs)."""
    svc = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"][service]
    return [str(a) for a in svc["command"]]


class Services:
    """Long-running ``digitize`` processes, each in its own process group, logs to files."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        assert argv[0] == "digitize"
        log = (self.logdir / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            [*DIGITIZE, *argv[1:]],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, f"services died: {dead}\n{self.logs()}"

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}"
            for p in sorted(self.logdir.glob("*.log"))
        )

    def stop(self) -> None:
        for p in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    logdir = tmp_path / "logs"
    logdir.mkdir()
    s = Services(logdir)
    yield s
    s.stop()


def test_compose_commands_run_the_whole_system(
    pg_url: str,
    redis_db: int,
    services: Services,
    form_scans: dict[str, Any],
    tmp_path: Path,
) -> None:
    templates = str(form_scans["templates"])
    env = job_env(
        pg_url,
        f"redis://127.0.0.1:6379/{redis_db}",
        DIGITIZE_TEMPLATES=json.dumps([templates]),  # as compose mounts /templates
        DIGITIZE_LOG_FORMAT="json",
        DIGITIZE_SECRET_KEY="integration-test-secret-key-long-enough",
        DIGITIZE_API_TOKEN=API_TOKEN,
    )

    # migrate: the one-shot service, before anything else.
    migrate = run_cli(compose_argv("migrate")[1:], env, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    assert "revision" in migrate.stdout

    # Two workers (two "replicas" of one process each), each exporting metrics.
    ports = [free_port(), free_port()]
    for i, port in enumerate(ports):
        argv = compose_argv("worker")
        argv[argv.index("--concurrency") + 1] = "1"
        services.start(f"worker{i}", argv, {**env, "DIGITIZE_METRICS_PORT": str(port)})

    # The watcher on a temporary inbox (compose mounts it at /inbox).
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watch = [inbox.as_posix() if a == "/inbox" else a for a in compose_argv("watch")]
    assert str(inbox) in watch
    services.start("watch", [*watch, "--settle", "0.5"], env)

    # The web app on a free port.
    web_port = free_port()
    review = compose_argv("review")
    review[review.index("--host") + 1] = "127.0.0.1"
    review[review.index("--port") + 1] = str(web_port)
    services.start("review", review, env)
    base = f"http://127.0.0.1:{web_port}"

    def up() -> bool:
        services.alive()
        ok = http_get(f"{base}/healthz")[0] == 200
        return ok and all(http_get(f"http://127.0.0.1:{p}/metrics")[0] == 200 for p in ports)

    wait_for("web app and both workers", up, 90, services.logs)

    # Two scans by `digitize submit`, two through the watched folder.
    scans: Path = form_scans["scans"]
    names = sorted(p.name for p in scans.iterdir())
    assert len(names) >= 4
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    for name in names[:2]:
        shutil.copy(scans / name, submitted / name)
    proc = run_cli(["submit", str(submitted)], env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for name in names[2:4]:
        shutil.copy(scans / name, inbox / f".{name}.part")  # written elsewhere, then renamed
        (inbox / f".{name}.part").rename(inbox / name)

    def all_done() -> bool:
        services.alive()
        counts = status_counts(pg_url)
        return counts.get("done", 0) == 4 and sum(counts.values()) == 4

    wait_for("four documents done", all_done, 120, services.logs)
    wait_for(
        "the watcher moved its files",
        lambda: sorted(p.name for p in (inbox / "processed").glob("*")) == sorted(names[2:4]),
        30,
        services.logs,
    )

    # The web app: health, the read-only API (token), metrics from the database.
    status, body = http_get(f"{base}/healthz")
    assert status == 200 and json.loads(body)["database"] == "ok"
    status, body = http_get(f"{base}/api/results", {"Authorization": f"Bearer {API_TOKEN}"})
    assert status == 200, body[:500]
    docs = json.loads(body)["documents"]
    assert sorted(d["source"] for d in docs) == names[:4]
    assert all(d["status"] == "done" and d["pages"] for d in docs)
    web = scrape(f"{base}/metrics")
    assert sample(web, "digitize_documents", status="done") == 4
    assert sample(web, "digitize_queue_depth", queue="digitize") == 0

    # Each worker counted what it did; together, every document exactly once.
    def processed() -> float:
        metrics = [scrape(f"http://127.0.0.1:{p}/metrics") for p in ports]
        return sum(sample(m, "digitize_documents_processed_total") for m in metrics)

    wait_for("worker counters", lambda: processed() >= 4, 20, services.logs)
    assert processed() == 4

    # Health probes as compose runs them.
    for service in ("worker", "review"):
        svc = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"][service]
        argv = [str(a) for a in svc["healthcheck"]["test"][1:]]
        port = ports[0] if service == "worker" else web_port
        argv = [a.replace(":9100/", f":{port}/").replace(":8000/", f":{port}/") for a in argv]
        probe = run_cli(argv[1:], env, timeout=60)
        assert probe.returncode == 0, (service, probe.stdout, probe.stderr)
