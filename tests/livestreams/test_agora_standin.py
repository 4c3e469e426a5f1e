"""The stand-in for Agora (tests/agora_standin.py) run as a development server
would use it: `python -m tests.agora_standin --port N`, steered over HTTP."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from livestreams.agora import kicks, presence
from livestreams.agora.rest import AgoraRestError

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def standin_process():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.agora_standin", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            call(f"{url}/_standin/state")
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("the stand-in did not start")
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


def test_the_stand_in_runs_from_a_shell_and_is_steered_over_http(standin_process, settings):
    settings.AGORA_REST_BASE_URL = standin_process
    settings.AGORA_CUSTOMER_KEY, settings.AGORA_CUSTOMER_SECRET = "k", "s"
    settings.AGORA_REST_TIMEOUT = 0.5

    rule_id = kicks.create_rule(channel_name="c", uid=7, minutes=5)
    call(
        f"{standin_process}/_standin/answer",
        {"route": "kicking-rule.post", "mode": "error", "status": 429},
    )
    with pytest.raises(AgoraRestError, match="HTTP 429"):
        kicks.create_rule(channel_name="c", uid=8, minutes=5)
    call(
        f"{standin_process}/_standin/channel",
        {"channel": "c", "broadcasters": [7], "audience": [8]},
    )
    users = presence.channel_users("c")

    assert (users.exists, users.broadcasters, users.audience) == (True, {7}, {8})
    state = call(f"{standin_process}/_standin/state")
    assert [r["id"] for r in state["rules"]] == [rule_id]
    assert [r["route"] for r in state["requests"]] == [
        "kicking-rule.post",
        "kicking-rule.post",
        "channel.users",
    ]
