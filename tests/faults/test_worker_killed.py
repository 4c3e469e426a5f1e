"""A gunicorn worker killed (SIGKILL) in the middle of a paid join or a fund: the
transaction dies with it, so the ledger and the balances still agree, nothing
is half made, and the same request succeeds once gunicorn has replaced the
worker. The app's code paths are untouched: the request is held at a chosen
point from the database side (a row lock the test holds, or a trigger that
waits on an advisory lock the test holds), while the worker is killed."""

import os
import signal
from decimal import Decimal

import pytest
import requests

from tests.faults.support import (
    blocked_backend,
    call,
    envelope_of,
    has_written_ledger,
    in_background,
    inserts_held,
    ledger_problems,
    money_state,
    process_with_connection,
    user_row_locked,
    wait_for,
)

CASES = {
    # operation, whose request, where it is held, has it written to the ledger yet
    "join-waiting-for-the-payer": ("join", "payer1", "user row", False),
    "join-after-charge-and-revenue": ("join", "payer2", "livestreams_participant", True),
    "fund-inside-credit-post": ("fund", "backer1", "user row", False),
    "fund-after-the-debit": ("fund", "backer2", "livestreams_contribution", True),
}
AMOUNT = Decimal("25")  # the fund request's amount


@pytest.mark.parametrize(("operation", "who", "held_at", "written"), CASES.values(), ids=CASES)
def test_a_worker_killed_mid_transaction_leaves_the_ledger_consistent(
    server, postgres, seed, pg, operation, who, held_at, written
):
    user = seed["users"][who]
    price = Decimal(seed["paidStream"]["price"])
    paid_id, fund_id = seed["paidStream"]["id"], seed["scheduledStream"]["id"]
    if operation == "join":
        path, body, success = "/api/v1/live-stream/join", {"liveStreamId": paid_id}, 200
    else:
        path, body, success = f"/api/v1/live-stream/{fund_id}/fund", {"amount": float(AMOUNT)}, 201

    def send():
        return call(server, "POST", path, token=user["token"], json=body, timeout=60)

    before = money_state(pg, seed, user["id"])
    assert before["balance"] == Decimal(seed["credits"])
    hold = (
        user_row_locked(postgres, user["id"])
        if held_at == "user row"
        else inserts_held(postgres, held_at)
    )
    with hold as holder_pid:
        thread, outcome = in_background(send)
        backend_pid, client_port = blocked_backend(pg, holder_pid)
        assert has_written_ledger(pg, backend_pid) is written
        worker = process_with_connection(
            server.workers(), local_port=client_port, remote_port=postgres.port
        )
        assert worker is not None, "no gunicorn worker holds that database connection"
        os.kill(worker, signal.SIGKILL)
        thread.join(timeout=30)
        assert not thread.is_alive()
        # The client saw the connection drop, not an answer.
        assert "response" not in outcome, outcome["response"].text
        assert isinstance(outcome["error"], requests.ConnectionError)
    # The lock released, the orphaned database session finds its client gone and
    # ends, rolling its transaction back.
    wait_for(
        lambda: (
            not pg.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend_pid,)
            ).fetchone()
        ),
        seconds=15,
        message="the killed worker's database session lingers",
    )

    assert money_state(pg, seed, user["id"]) == before
    assert ledger_problems(pg) == []

    # gunicorn replaces the worker, and the same request now goes through, once.
    wait_for(
        lambda: len(server.workers()) == server.worker_count and worker not in server.workers(),
        seconds=30,
        message="gunicorn did not replace the killed worker",
    )
    data = envelope_of(send(), success)
    after = money_state(pg, seed, user["id"])
    if operation == "join":
        assert data["liveStream"]["id"] == paid_id
        assert after["balance"] == before["balance"] - price
        assert after["participations"] == 1
        assert after["host entries"] == before["host entries"] + 1  # the revenue
        assert after["host balance"] > before["host balance"]
    else:
        assert Decimal(str(data["contribution"]["amount"])) == AMOUNT
        assert after["balance"] == before["balance"] - AMOUNT
        assert after["host entries"] == before["host entries"]
        assert after["contributions"] == before["contributions"] + 1
        assert after["collected"] == before["collected"] + AMOUNT
    assert after["entries"] == before["entries"] + 1
    assert ledger_problems(pg) == []


def test_the_ledger_check_sees_what_a_half_made_payment_would_leave(postgres, seed):
    """The check above is not vacuous: each kind of damage, made in a transaction
    that is rolled back, is reported."""
    users = seed["users"]
    damage = {
        "balance != ledger": (
            "UPDATE accounts_user SET credit_balance = credit_balance + 1 WHERE id = %s",
            users["host"]["id"],
        ),
        "collected funding != completed contributions": (
            "UPDATE livestreams_livestream SET collected_funding = collected_funding + 1 "
            "WHERE id = %s",
            seed["scheduledStream"]["id"],
        ),
        # Seed grants relabelled as what an interrupted join or fund would leave.
        "charge without participation": (
            "UPDATE accounts_credittransaction SET kind = 'stream_charge' WHERE user_id = %s",
            users["payer4"]["id"],
        ),
        "revenue without charge": (
            "UPDATE accounts_credittransaction SET kind = 'stream_revenue' WHERE user_id = %s",
            users["backer3"]["id"],
        ),
        "funding entry without contribution": (
            "UPDATE accounts_credittransaction SET kind = 'stream_funding_contribution' "
            "WHERE user_id = %s",
            users["backer4"]["id"],
        ),
    }
    with postgres.connect(autocommit=False) as conn:
        try:
            assert ledger_problems(conn) == []
            for name, (sql, param) in damage.items():
                with conn.cursor() as cursor:
                    cursor.execute(sql, (param,))
                    assert cursor.rowcount == 1
                found = ledger_problems(conn)
                assert any(problem.startswith(f"{name}:") for problem in found), (name, found)
        finally:
            conn.rollback()
    with postgres.connect() as conn:
        assert ledger_problems(conn) == []
