"""PostgreSQL stopped and started again while requests run: every request during
the outage gets a 503 in the envelope (never a 500, an HTML page or a dropped
connection), and the service recovers by itself, without restarting gunicorn."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import requests

from tests.faults.support import (
    call,
    envelope_of,
    has_written_ledger,
    in_background,
    inserts_stalled,
    ledger_problems,
    money_state,
    stalled_backend,
    wait_for,
)

OUTAGE_SECONDS = 2.5
RECOVERY_SECONDS = 10


@dataclass
class Outcome:
    kind: str
    sent: float
    done: float
    response: requests.Response | None
    error: str = ""

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None

    def __str__(self) -> str:
        if self.response is None:
            return f"{self.kind}: no response ({self.error})"
        return f"{self.kind}: {self.status} {self.response.text[:300]}"


def _send_until(stop: threading.Event, kind: str, request, outcomes: list) -> None:
    while not stop.is_set():
        sent = time.monotonic()
        try:
            response = request()
            outcomes.append(Outcome(kind, sent, time.monotonic(), response))
        except requests.RequestException as exc:
            outcomes.append(Outcome(kind, sent, time.monotonic(), None, repr(exc)))
        time.sleep(0.02)


def _served_since(outcomes: list, kinds, moment: float) -> bool:
    """Each kind of request has had a 200 to a request sent after `moment`."""
    done = list(outcomes)
    return all(
        any(o.kind == k and o.sent > moment and o.status == 200 for o in done) for k in kinds
    )


def _answered_since(outcomes: list, kinds, moment: float) -> bool:
    """Each kind of request sent after `moment` has had its answer (any answer)."""
    done = list(outcomes)
    return all(any(o.kind == kind and o.sent > moment for o in done) for kind in kinds)


def test_requests_during_a_database_restart_get_503_and_the_service_recovers(
    server, postgres, seed
):
    viewer = seed["users"]["viewer"]
    stream_id = seed["paidStream"]["id"]
    kinds = {
        "detail": lambda: call(
            server, "GET", f"/api/v1/live-stream/{stream_id}", token=viewer["token"]
        ),
        "join": lambda: call(
            server,
            "POST",
            "/api/v1/live-stream/join",
            token=viewer["token"],
            json={"liveStreamId": stream_id},
        ),
        "health": lambda: call(server, "GET", "/api/v1/health"),
    }
    # Two senders per kind, so that several worker threads (and their persistent
    # database connections) live through the outage.
    outcomes: list[Outcome] = []
    stop = threading.Event()
    senders = [
        threading.Thread(target=_send_until, args=(stop, kind, request, outcomes), daemon=True)
        for kind, request in kinds.items()
        for _copy in range(2)
    ]
    workers_before = server.workers()
    for sender in senders:
        sender.start()
    try:
        wait_for(lambda: _served_since(outcomes, kinds, 0), seconds=15, message="no 200 at all")
        stopping = time.monotonic()
        postgres.stop("fast")
        stopped = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        wait_for(
            lambda: _answered_since(outcomes, kinds, stopped),
            seconds=15,
            message="no answers during the outage",
        )
        starting = time.monotonic()
        postgres.start()
        started = time.monotonic()
        wait_for(
            lambda: _served_since(outcomes, kinds, started),
            seconds=RECOVERY_SECONDS,
            message="the service did not recover after the restart",
        )
        recovered = time.monotonic()
        time.sleep(1)  # and it keeps serving
        wait_for(
            lambda: _answered_since(outcomes, kinds, recovered),
            seconds=15,
            message="no answers after the recovery",
        )
    finally:
        stop.set()
        for sender in senders:
            sender.join(timeout=20)
    assert not any(sender.is_alive() for sender in senders)

    # Every answer, whenever it came, is a 200 or a 503 in the envelope: never a
    # dropped connection, a 500 or an HTML page.
    for outcome in outcomes:
        assert outcome.status in (200, 503), str(outcome)
        envelope_of(outcome.response, outcome.status)

    before = [o for o in outcomes if o.done < stopping]
    during = [o for o in outcomes if o.sent > stopped and o.done < starting]
    after = [o for o in outcomes if o.sent > recovered]
    for phase, name in ((before, "before"), (during, "during"), (after, "after")):
        assert {o.kind for o in phase} == set(kinds), f"not every kind of request sent {name}"
    assert [str(o) for o in before if o.status != 200] == []
    assert [str(o) for o in during if o.status != 503] == []
    assert [str(o) for o in after if o.status != 200] == []
    # The recovery was the server's own: the same gunicorn workers.
    assert server.workers() == workers_before

    # However many joins went through, the viewer paid once, and the ledger adds up.
    with postgres.connect() as pg:
        charges = pg.execute(
            "SELECT count(*) FROM accounts_credittransaction WHERE user_id = %s "
            "AND kind = 'stream_charge'",
            (viewer["id"],),
        ).fetchone()[0]
        assert charges == 1
        assert ledger_problems(pg) == []


def test_a_restart_between_requests_goes_unnoticed(server, postgres, seed):
    """Persistent connections (CONN_MAX_AGE) that died with a restart while idle
    are checked and replaced before use: the first requests after it succeed."""
    viewer = seed["users"]["viewer"]
    stream_id = seed["paidStream"]["id"]

    def details(count: int) -> list:
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(
                pool.map(
                    lambda _n: call(
                        server, "GET", f"/api/v1/live-stream/{stream_id}", token=viewer["token"]
                    ),
                    range(count),
                )
            )

    # Every worker thread (2 workers x 2 threads) likely holds a connection now.
    for response in details(8):
        envelope_of(response, 200)
    postgres.stop("fast")
    postgres.start()
    for response in details(8):
        assert envelope_of(response, 200)["id"] == stream_id


def test_a_paid_join_in_flight_when_the_database_stops_gets_503_and_leaves_nothing(
    server, postgres, seed
):
    """The join has charged the payer and paid the creator (in its transaction)
    when PostgreSQL stops under it: the answer is a 503, and none of it stays.

    The join is held with a sleep, not with a lock the test holds: the shutdown
    ends the test's session too, and the lock released, the join could commit
    before its own session is ended (and then get its 503 from the reads that
    follow its commit)."""
    payer = seed["users"]["payer3"]
    stream_id = seed["paidStream"]["id"]

    def join():
        return call(
            server,
            "POST",
            "/api/v1/live-stream/join",
            token=payer["token"],
            json={"liveStreamId": stream_id},
            timeout=60,
        )

    with postgres.connect() as pg:
        before = money_state(pg, seed, payer["id"])
    with inserts_stalled(postgres, "livestreams_participant", payer["id"]):
        with postgres.connect() as pg:
            thread, outcome = in_background(join)
            assert has_written_ledger(pg, stalled_backend(pg, "livestreams_participant"))
        postgres.stop("fast")
        thread.join(timeout=60)
        assert not thread.is_alive()
        postgres.start()
    assert "response" in outcome, outcome.get("error")
    envelope_of(outcome["response"], 503)

    with postgres.connect() as pg:
        assert money_state(pg, seed, payer["id"]) == before
        assert ledger_problems(pg) == []
        envelope_of(join(), 200)
        after = money_state(pg, seed, payer["id"])
        assert after["balance"] == before["balance"] - Decimal(seed["paidStream"]["price"])
        assert after["participations"] == 1
        assert ledger_problems(pg) == []
