"""The background work's wiring (issue 11): Celery's configuration with and
without a broker, one beat schedule naming real tasks, thin tasks that call the
same services as the staff commands, and no import cycle between tasks and the
services they call."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from allmine.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
WORKER_SERVICES = ("agora_kicks", "recording", "presence", "rtm_messages")


def settings_in_a_fresh_process(**env: str) -> dict:
    """Some settings as a fresh process reads them from the environment."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'eager': s.CELERY_TASK_ALWAYS_EAGER, 'broker': s.CELERY_BROKER_URL}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_URL"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "allmine.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_broker_tasks_run_in_the_web_process():
    assert settings_in_a_fresh_process() == {"eager": True, "broker": ""}


def test_the_broker_defaults_to_redis_url_and_then_tasks_go_to_workers():
    assert settings_in_a_fresh_process(REDIS_URL="redis://127.0.0.1:6379/5") == {
        "eager": False,
        "broker": "redis://127.0.0.1:6379/5",
    }
    assert settings_in_a_fresh_process(
        REDIS_URL="redis://127.0.0.1:6379/5", CELERY_BROKER_URL="redis://10.0.0.9:6379/1"
    ) == {"eager": False, "broker": "redis://10.0.0.9:6379/1"}


def test_a_worker_without_a_broker_says_so_and_stops():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_URL"))}
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "allmine", "worker", "--pool=solo"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "allmine.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "No Celery broker: set CELERY_BROKER_URL" in result.stdout + result.stderr


def test_every_scheduled_job_is_a_registered_task_locked_like_its_staff_command():
    celery_app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "livestreams.expire_streams",
        "livestreams.end_overdue_streams",
        "livestreams.settle_replay_revenue",
        "livestreams.retry_agora_kicks",
        "livestreams.retry_agora_recordings",
        "livestreams.retry_rtm_messages",
        "livestreams.reconcile_presence",
        "livestreams.prune_agora_notices",
        "livestreams.recount_viewers",
    }
    assert scheduled <= set(celery_app.tasks)
    commands = {p.stem for p in (ROOT / "livestreams/management/commands").glob("*.py")}
    # Each job has a staff command of the same name (the manual entry point).
    assert {name.split(".", 1)[1] for name in scheduled} <= commands


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("module", WORKER_SERVICES)
def test_the_services_the_tasks_call_never_import_a_task(module):
    imports = _imports(ROOT / f"livestreams/services/{module}.py")
    assert not {name for name in imports if name.startswith("livestreams.tasks")}


def test_the_tasks_are_thin():
    """A task module holds no query and no call to Agora: it calls services."""
    for path in (ROOT / "livestreams/tasks").glob("*.py"):
        imports = _imports(path)
        assert not {n for n in imports if n.startswith(("livestreams.models", "livestreams.agora"))}
        assert "objects" not in path.read_text()
