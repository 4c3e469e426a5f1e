"""The README's tour with curl, run as written, twice in a row on the same database
(issue 9: "the README's tour runs twice in a row without an error").

The tour's ```sh blocks are taken from README.md (the section whose `## ` heading
names the tour) and run by `bash -euo pipefail` against a real server
(pytest-django's `live_server`) holding the demo data (`load_demo_data`, as
`make run` loads it). Three things differ from a reader's terminal, each a
substitution that must find its text exactly once:

- `API=` points at the live server instead of http://localhost:8000;
- `.venv/bin/python manage.py` runs the management command against the test
  database: on PostgreSQL a real `python manage.py` process, given the test
  database's URL; on SQLite, whose test database lives in this process's memory,
  the same command with the same arguments run here (through `call_command`,
  which parses them with the command's own parser), over a Unix socket;
- a line `@@tour-step N` is printed before each numbered step, so that what each
  step printed can be checked against what the README says it does.
"""

import io
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import CreditTransaction, TransactionKind
from tests.api import OBJECT_ID_RE
from tests.api import envelope_body as envelope
from tests.helpers import database_url_of_tests

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_API = "API=http://localhost:8000/api/v1"
README_MANAGE = ".venv/bin/python manage.py"
STEP_RE = re.compile(r"^# (\d+)\. ", re.MULTILINE)
MARKER_RE = re.compile(r"^@@tour-step (\d+)$", re.MULTILINE)
# One run takes a few seconds; generous for a busy machine.
RUN_TIMEOUT = 60


def tour_section(text: str) -> str:
    """The README section (from its `## ` heading to the next) that is the tour."""
    sections = re.split(r"^(?=## )", text, flags=re.MULTILINE)
    tours = [s for s in sections if re.match(r"## .*\btour\b", s, re.IGNORECASE)]
    assert len(tours) == 1, "README.md should have exactly one `## ` section about the tour"
    return tours[0]


def tour_script(text: str) -> str:
    blocks = re.findall(r"^```sh\n(.*?)^```$", tour_section(text), re.MULTILINE | re.DOTALL)
    assert blocks, "the tour section of README.md has no ```sh blocks"
    return "\n".join(blocks)


def instrumented(script: str, *, api: str, manage: str) -> str:
    for old in (README_API, README_MANAGE):
        assert script.count(old) == 1, f"the tour should contain {old!r} exactly once"
    script = script.replace(README_API, f"API={shlex.quote(api)}")
    script = script.replace(README_MANAGE, manage)
    return STEP_RE.sub(lambda m: f"printf '\\n@@tour-step {m[1]}\\n'\n{m[0]}", script)


def printed_by_step(stdout: str) -> dict[int, list]:
    """What each step printed: the JSON bodies curl wrote (one after the other,
    without newlines) and the other lines, in order."""
    parts = MARKER_RE.split(stdout)
    assert not parts[0].strip(), f"printed before step 1: {parts[0]!r}"
    decoder = json.JSONDecoder()
    steps: dict[int, list] = {}
    for number, chunk in zip(parts[1::2], parts[2::2], strict=True):
        items: list = []
        i = 0
        while i < len(chunk):
            if chunk[i].isspace():
                i += 1
            elif chunk[i] == "{":
                body, i = decoder.raw_decode(chunk, i)
                items.append(body)
            else:
                end = chunk.find("\n", i)
                end = len(chunk) if end == -1 else end
                items.append(chunk[i:end])
                i = end
        steps[int(number)] = items
    return steps


class InProcessManage:
    """`manage.py ARGS` for the tour on SQLite: a small client, run by bash,
    sends ARGS over a Unix socket; this process runs the command and answers with
    its output and exit status. Served between the tour's requests, on the
    connection the live server shares, while the tour waits for the answer."""

    CLIENT = """\
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps(sys.argv[2:]).encode() + b"\\n")
answer = json.loads(s.makefile().read())
sys.stdout.write(answer["out"]); sys.stderr.write(answer["err"])
sys.exit(answer["status"])
"""

    def __init__(self, folder: Path):
        self.path = folder / "manage.sock"
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(self.path))
        self.server.listen()
        self.server.settimeout(0.05)
        (folder / "manage_client.py").write_text(self.CLIENT)
        # In place of `.venv/bin/python manage.py`: the command's name and arguments follow.
        self.command = " ".join(
            shlex.quote(p)
            for p in (sys.executable, str(folder / "manage_client.py"), str(self.path))
        )

    def serve_once(self) -> None:
        try:
            client, _ = self.server.accept()
        except TimeoutError:
            return
        with client:
            args = json.loads(client.makefile().readline())
            out, err = io.StringIO(), io.StringIO()
            status = 0
            try:
                call_command(*args, stdout=out, stderr=err)
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
            except Exception as exc:  # a CommandError, as manage.py would print it
                err.write(f"{type(exc).__name__}: {exc}\n")
                status = 1
            answer = {"out": out.getvalue(), "err": err.getvalue(), "status": status}
            client.sendall(json.dumps(answer).encode())

    def close(self) -> None:
        self.server.close()


def run_tour(script: str, folder: Path, manage: InProcessManage | None, env: dict[str, str]):
    out_path, err_path = folder / "stdout", folder / "stderr"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, stdout=out, stderr=err
        )
        deadline = time.monotonic() + RUN_TIMEOUT
        while process.poll() is None:
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                pytest.fail(f"the tour took over {RUN_TIMEOUT} s:\n{err_path.read_text()}")
            if manage is not None:
                manage.serve_once()
            else:
                time.sleep(0.05)
    return process.returncode, out_path.read_text(), err_path.read_text()


def check_run(steps: dict[int, list], run: int) -> dict:
    """What the README says each step does, as the step printed it; returns the
    rental step 9 printed."""
    assert sorted(steps) == list(range(1, 13)), sorted(steps)
    # 1. Signing in prints nothing (the tokens and the guest's id go into variables).
    assert steps[1] == []
    # 2. The new stream's id.
    [stream_id] = steps[2]
    assert isinstance(stream_id, str) and OBJECT_ID_RE.match(stream_id), steps[2]
    # 3. The creator goes live: RTC (publisher) and RTM credentials.
    [creator] = steps[3]
    live = envelope(creator, 200)
    assert live["liveStream"]["id"] == stream_id and live["liveStream"]["status"] == "active"
    assert live["agora"]["role"] == "host" and live["agora"]["token"] and live["rtm"]["token"]
    # 4. The invited guest joins as the second broadcaster.
    [guest] = steps[4]
    assert envelope(guest, 200)["liveStream"]["role"] == "guest", guest
    # 5. The grant's summary line, then the viewer's join.
    granted, joined = steps[5]
    assert re.fullmatch(r"demo_viewer: \+100 credits, balance now [\d.]+\.", granted), granted
    assert envelope(joined, 200)["agora"]["role"] == "audience", joined
    # 6. The stream, its audience now, fresh tokens.
    stream, count, renewed = steps[6]
    assert envelope(stream, 200)["id"] == stream_id, stream
    assert envelope(count, 200) == {"streamId": stream_id, "viewerCount": 1}, count
    assert set(envelope(renewed, 200)) == {"agora", "rtm"}, renewed
    # 7. The active streams (an array, with the tour's), the viewer's ledger: the
    #    stream charged once, its price.
    streams, ledger = steps[7]
    assert stream_id in [s["id"] for s in envelope(streams, 200)], streams
    charges = [e for e in envelope(ledger, 200)["list"] if e["liveStreamId"] == stream_id]
    assert [(e["type"], e["amount"]) for e in charges] == [("stream_charge", 4.99)], ledger
    # 8. The ban, the banned viewer's chat message refused (403), the stream ended.
    banned, refused, ended = steps[8]
    ban = envelope(banned, 200)
    assert (ban["liveStreamId"], ban["actionType"]) == (stream_id, "CHAT_ONLY"), banned
    assert "banned" in " ".join(envelope(refused, 403)[1:]), refused
    assert envelope(ended, 200)["status"] == "ended", ended
    # 9. The replay priced; a replay rented (the second time round, the one rented
    #    already); the viewer's rentals.
    priced, rented, rentals = steps[9]
    replay = envelope(priced, 200)
    assert (replay["isActiveReplayOnCreatorProfile"], replay["replayCreditPrice"]) == (True, 5)
    rental = envelope(rented, 200)
    assert (rental["status"], rental["canViewRecording"]) == ("rented", True), rented
    assert len(envelope(rentals, 200)["list"]) == 1, rentals
    # 10. The scheduled stream with a goal funded; it is among the funded streams.
    funded, funded_list = steps[10]
    contribution = envelope(funded, 201)["contribution"]
    assert (contribution["amount"], contribution["status"]) == (25, "completed"), funded
    assert contribution["liveStreamId"] in [s["id"] for s in envelope(funded_list, 200)]
    # 11. A gift, the gift statistics, the viewers, a report: the second time
    #     round the viewer's first report is still open (409, as the README says).
    gift, statistics, viewers, report = steps[11]
    assert envelope(gift, 201) == {"message": "Success"}, gift
    counted = envelope(statistics, 200)
    live_id = counted["liveStreamId"]
    assert counted["totalCount"] >= run, statistics  # this tour's gifts at least
    assert "demo_viewer" in [v["username"] for v in envelope(viewers, 200)["list"]], viewers
    if run == 1:
        opened = envelope(report, 201)
        assert (opened["liveStreamId"], opened["status"]) == (live_id, "open"), report
    else:
        assert "already reported" in " ".join(envelope(report, 409)[1:]), report
    # 12. A chat message, the history newest first, a superlike, the superlike spent.
    message, history, superlike, spent = steps[12]
    sent = envelope(message, 201)
    assert envelope(history, 200)["messages"][0]["_id"] == sent["_id"], history
    assert envelope(superlike, 201)["price"] == 10, superlike
    entries = envelope(spent, 200)["list"]
    assert len(entries) == run and {e["type"] for e in entries} == {"superlike_spend"}, spent
    return rental


@pytest.mark.django_db(transaction=True)
def test_the_readme_tour_runs_twice_in_a_row(live_server, moderators_group, media_root, tmp_path):
    call_command("load_demo_data", stdout=io.StringIO())
    env = dict(os.environ)
    if connection.vendor == "postgresql":
        manage = None
        command = f"{shlex.quote(sys.executable)} manage.py"
        env["DATABASE_URL"] = database_url_of_tests()
    else:
        manage = InProcessManage(tmp_path)
        command = manage.command
    script = instrumented(
        tour_script(README.read_text()), api=f"{live_server.url}/api/v1", manage=command
    )
    rentals = []
    try:
        for run in (1, 2):
            status, stdout, stderr = run_tour(script, tmp_path, manage, env)
            assert status == 0, f"run {run} of the tour failed ({status}):\n{stderr}\n{stdout}"
            rentals.append(check_run(printed_by_step(stdout), run))
    finally:
        if manage is not None:
            manage.close()
    # Renting again charged nothing: the second run's rental is the first run's.
    assert rentals[1]["rentedAt"] == rentals[0]["rentedAt"], rentals
    rental_charges = CreditTransaction.objects.filter(
        user__username="demo_viewer", kind=TransactionKind.REPLAY_RENTAL
    )
    assert rental_charges.count() == 1
