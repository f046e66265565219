"""docker-compose.yml and the Dockerfile, kept honest without a Docker engine.

Every command is parsed by the real ``digitize`` command tree (unknown options and bad values
fail), every ``DIGITIZE_*`` variable must be a setting with a valid value, every bind mount and
COPY source must exist, and the build context (as .dockerignore leaves it) really builds a wheel
whose installed package carries the model and the migrations.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import typer.main
import yaml

from digitize.settings import Settings

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yml"
#: Values for the variables the compose file requires (``${VAR:?...}``).
REQUIRED = {"DIGITIZE_SECRET_KEY": "a-long-random-test-secret"}
#: Images whose own tools the health checks use.
IMAGE_TOOLS = {"redis": "redis-cli", "postgres": "pg_isready"}

PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
_VAR = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` substitution."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if env.get(name):
            return env[name]
        if op == "-":
            return arg
        raise AssertionError(f"${{{name}}} is required: {arg}")

    return _VAR.sub(sub, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE.read_text())
    return dict(interpolate(raw, REQUIRED))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


@pytest.fixture(scope="module")
def root_command() -> Any:
    from digitize.cli import _register, app

    _register()
    cmd = typer.main.get_command(app)  # Typer vendors its own click: groups are duck-typed
    assert hasattr(cmd, "commands") and "worker" in cmd.commands
    return cmd


def parse_digitize(root: Any, argv: list[str]) -> Any:
    """Parse ``digitize ARGV`` as the CLI would, without running it (raises on bad usage)."""
    assert argv and argv[0] == "digitize", argv
    ctx = root.make_context("digitize", argv[1:], resilient_parsing=False)
    group, args = root, _rest(ctx)
    while True:
        assert args, f"{argv}: no subcommand"
        sub = group.get_command(ctx, args[0])
        assert sub is not None, f"{argv}: {args[0]!r} is no digitize command"
        ctx = sub.make_context(args[0], args[1:], parent=ctx)
        if not hasattr(sub, "commands"):
            return ctx
        group, args = sub, _rest(ctx)


def _rest(ctx: Any) -> list[str]:
    """The words a group left for its subcommand (click 8.2 renamed ``protected_args``)."""
    protected = getattr(ctx, "_protected_args", None)
    if protected is None:
        protected = ctx.protected_args
    return [*protected, *ctx.args]


def argv_of(command: Any) -> list[str]:
    return list(command) if isinstance(command, list) else shlex.split(command)


def dockerfile_lines() -> list[str]:
    """Instructions with continuation lines joined and comments dropped."""
    text = (REPO / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    return [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.startswith("#")]


def ignored(rel: str, patterns: list[str]) -> bool:
    """Whether .dockerignore (plain and ``**`` patterns, no negations here) drops ``rel``."""
    parts = rel.split("/")
    for pat in patterns:
        pat = pat.rstrip("/")
        if pat.startswith("**/"):
            if any(fnmatch.fnmatch(p, pat[3:]) for p in parts):
                return True
        elif any(fnmatch.fnmatch("/".join(parts[: i + 1]), pat) for i in range(len(parts))):
            return True
    return False


def dockerignore() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    pats = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    assert not any(p.startswith("!") for p in pats), "negations are not handled by this test"
    return pats


def copy_sources() -> list[str]:
    out: list[str] = []
    for ln in dockerfile_lines():
        if ln.upper().startswith("COPY ") and "--from=" not in ln:
            out.extend(a.rstrip("/") for a in shlex.split(ln)[1:-1] if not a.startswith("--"))
    return out


def healthcheck_argv(hc: dict[str, Any]) -> list[str]:
    test = hc["test"]
    if isinstance(test, str):
        return shlex.split(test)
    assert test[0] in ("CMD", "CMD-SHELL"), test
    return list(test[1:]) if test[0] == "CMD" else shlex.split(test[1])


# --- compose ----------------------------------------------------------------------------------


def test_the_system_is_all_there(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) >= {"redis", "postgres", "migrate", "worker", "watch", "review", "flower"}


def test_every_digitize_command_parses(
    services: dict[str, dict[str, Any]], root_command: Any
) -> None:
    seen = set()
    for name, svc in services.items():
        if "command" not in svc or "build" not in svc:
            continue
        argv = argv_of(svc["command"])
        if argv[0] == "digitize":
            ctx = parse_digitize(root_command, argv)
            seen.add(ctx.info_name)
        else:
            assert argv[0] == "celery" and "flower" in argv, (name, argv)
            target = argv[argv.index("--app") + 1]
            module, _, attr = target.partition(":")
            from celery import Celery

            assert isinstance(getattr(importlib.import_module(module), attr), Celery)
            assert "flower" in {ep.name for ep in entry_points(group="celery.commands")}
    assert seen >= {"migrate", "worker", "watch", "review"}


def test_worker_replicas_and_concurrency_come_from_the_environment(
    root_command: Any,
) -> None:
    raw = yaml.safe_load(COMPOSE.read_text())["services"]["worker"]
    env = {**REQUIRED, "WORKER_REPLICAS": "5", "WORKER_CONCURRENCY": "3"}
    svc = interpolate(raw, env)
    assert int(svc["deploy"]["replicas"]) == 5
    ctx = parse_digitize(root_command, argv_of(svc["command"]))
    assert ctx.params["concurrency"] == 3


def test_environment_is_settings(services: dict[str, dict[str, Any]]) -> None:
    fields = set(Settings.model_fields)
    for name, svc in services.items():
        env = svc.get("environment") or {}
        ours = {k: str(v) for k, v in env.items() if k.startswith("DIGITIZE_")}
        if "build" in svc:
            assert "DIGITIZE_DATABASE_URL" in ours and "DIGITIZE_BROKER_URL" in ours, name
        for key in ours:
            assert key[len("DIGITIZE_") :].lower() in fields, f"{name}: {key} is no setting"
        saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("DIGITIZE_")}
        try:
            os.environ.update(ours)
            settings = Settings(_env_file=None)  # type: ignore[call-arg]  # validates every value
        finally:
            for k in ours:
                os.environ.pop(k, None)
            os.environ.update(saved)
        if "build" in svc:
            url = urlparse(settings.database_url)
            assert (
                url.hostname == "postgres"
                and url.path == f"/{services['postgres']['environment']['POSTGRES_DB']}"
            )
            assert urlparse(settings.broker_url).hostname == "redis"
            mounts = {v["target"] for v in svc.get("volumes", []) if isinstance(v, dict)}
            for template_dir in settings.templates:
                assert str(template_dir) in mounts, f"{name}: {template_dir} is not mounted"


def _volumes(svc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for v in svc.get("volumes", []):
        if isinstance(v, str):
            source, target, *_ = v.split(":")
            kind = "bind" if source.startswith((".", "/")) else "volume"
            out.append({"type": kind, "source": source, "target": target})
        else:
            out.append(v)
    return out


def test_volumes_exist(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    named = set(compose.get("volumes") or {})
    assert "postgres-data" in named
    for name, svc in services.items():
        for vol in _volumes(svc):
            if vol["type"] == "volume":
                assert vol["source"] in named, (name, vol)
            else:
                src = (REPO / vol["source"]).resolve()
                creates = vol.get("bind", {}).get("create_host_path", False)
                assert src.exists() or creates, f"{name}: bind source {src} does not exist"
    pg = {v["target"] for v in _volumes(services["postgres"])}
    assert "/var/lib/postgresql/data" in pg


def test_watch_reads_its_mounted_inbox(
    services: dict[str, dict[str, Any]], root_command: Any
) -> None:
    svc = services["watch"]
    ctx = parse_digitize(root_command, argv_of(svc["command"]))
    mounts = {v["target"]: v for v in _volumes(svc)}
    assert str(ctx.params["directory"]) in mounts
    assert not mounts[str(ctx.params["directory"])].get("read_only")  # it moves files


def test_health_checks_and_start_order(
    services: dict[str, dict[str, Any]], root_command: Any
) -> None:
    for name, svc in services.items():
        one_shot = svc.get("restart") == "no"
        if not one_shot:
            assert "healthcheck" in svc, f"{name} has no health check"
            argv = healthcheck_argv(svc["healthcheck"])
            if argv[0] == "digitize":
                ctx = parse_digitize(root_command, argv)
                for url in ctx.params.get("http") or []:
                    _port_is_served(name, svc, int(urlparse(url).port or 80), root_command)
            else:
                assert IMAGE_TOOLS.get(name) == argv[0], (name, argv)
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, (name, dep)
            want = "service_completed_successfully" if dep == "migrate" else "service_healthy"
            assert cond["condition"] == want, (name, dep, cond)
            if want == "service_healthy":
                assert "healthcheck" in services[dep], dep
        uses_db = "DIGITIZE_DATABASE_URL" in (svc.get("environment") or {})
        if uses_db and name != "migrate":
            assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def _port_is_served(name: str, svc: dict[str, Any], port: int, root_command: Any) -> None:
    """The port a health check probes is the one the service's command listens on."""
    argv = argv_of(svc["command"])
    env = svc.get("environment") or {}
    if argv[0] == "digitize" and argv[1] == "review":
        assert parse_digitize(root_command, argv).params["port"] == port
        published = [str(p).rsplit(":", 1)[-1] for p in svc.get("ports", [])]
        assert str(port) in published, name
    elif argv[0] == "digitize" and argv[1] == "worker":
        assert int(env["DIGITIZE_METRICS_PORT"]) == port
    else:
        assert f"--port={port}" in argv, (name, argv)


# --- Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_is_multistage_non_root_with_healthcheck(root_command: Any) -> None:
    lines = dockerfile_lines()
    froms = [ln for ln in lines if ln.upper().startswith("FROM ")]
    assert len(froms) >= 2 and " AS " in froms[0].upper()
    runtime = lines[lines.index(froms[-1]) :]
    assert any("--from=" in ln for ln in runtime if ln.upper().startswith("COPY"))
    users = [ln.split()[1] for ln in runtime if ln.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any("useradd" in ln and users[-1] in ln for ln in runtime)
    (hc,) = [ln for ln in runtime if ln.upper().startswith("HEALTHCHECK")]
    argv = json_argv(hc.split(" CMD ", 1)[1])
    parse_digitize(root_command, argv)


def json_argv(text: str) -> list[str]:
    import json

    value = json.loads(text)
    assert isinstance(value, list)
    return [str(v) for v in value]


def test_copy_sources_exist_and_cover_the_packages() -> None:
    import tomllib

    pats = dockerignore()
    sources = copy_sources()
    for src in sources:
        assert (REPO / src).exists(), f"COPY {src}: missing"
        assert not ignored(src, pats), f"COPY {src}: excluded by .dockerignore"
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in cfg["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= set(sources), f"packages not copied: {packages - set(sources)}"
    assert cfg["project"]["readme"] in sources


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build context as Docker sends it (COPY sources minus .dockerignore), built to a wheel."""
    ctx = tmp_path_factory.mktemp("context")
    pats = dockerignore()
    for src in copy_sources():
        path = REPO / src
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for f in files:
            rel = f.relative_to(REPO).as_posix()
            if not ignored(rel, pats):
                (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, ctx / rel)
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [*PIP_WHEEL, str(ctx), "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    (wheel,) = out.glob("digitize-*.whl")
    return wheel


@pytest.mark.slow
def test_image_carries_model_and_migrations(built_wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(built_wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    assert "model/weights/digits.json" in names and "model/weights/digits.tflite" in names
    assert "db/alembic.ini" in names
    assert any(n.startswith("db/migrations/versions/0001") for n in names)
    assert "review/templates/base.html" in names and "review/static/review.css" in names
    # The packaged model loads from the installed copy (not this checkout), checksum included.
    site = str(tmp_path / "site")
    code = (
        "import model.inference as m; import numpy as np; r = m.get_recognizer(); "
        f"assert m.__file__.startswith({site!r}); "
        "print(r.predict_proba(np.zeros((2, 28, 28), 'float32')).shape)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    env["PYTHONPATH"] = site
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "(2, 11)"
