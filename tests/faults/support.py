"""What the fault tests share: HTTP calls to the real server, the envelope as a
client sees it, the ledger's invariants read straight from PostgreSQL, and
finding the gunicorn worker that serves a given database connection."""

import io
import os
import threading
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import requests
from PIL import Image

from tests.api import envelope_body

# --- HTTP ---------------------------------------------------------------------------


def call(server, method: str, path: str, *, token: str | None = None, timeout=15, **kwargs):
    """One request on a fresh connection (no pooled connection can go stale)."""
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with requests.Session() as session:
        return session.request(
            method, f"{server.url}{path}", headers=headers, timeout=timeout, **kwargs
        )


def envelope_of(response, status: int):
    """Check the envelope of a real HTTP response and return its `data` (success)
    or `errors` (failure)."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers.get("Content-Type", "").startswith("application/json"), (
        response.headers.get("Content-Type"),
        response.text[:500],
    )
    return envelope_body(response.json(), status)


def jpeg(size=(64, 48), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def wait_for(condition, *, seconds: float, interval: float = 0.1, message: str = ""):
    """Poll `condition` until it returns something truthy; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s: {message}")
        time.sleep(interval)


# --- The ledger, read from the database ----------------------------------------------


def ledger_problems(conn) -> list[str]:
    """Every way the money tables disagree with each other; [] when they agree.

    - a balance differs from the sum of its user's completed and refunded entries;
    - a stream charge has no participation, or a participation in a paid stream
      has no charge;
    - a revenue entry points at no charge;
    - a funding entry has no contribution, or a contribution has no funding entry
      of the same user, stream and amount;
    - a stream's collected funding differs from its completed contributions.
    """
    checks = {
        "balance != ledger": """
            SELECT u.username, u.credit_balance, COALESCE(SUM(t.amount), 0)
            FROM accounts_user u
            LEFT JOIN accounts_credittransaction t
              ON t.user_id = u.id AND t.status IN ('completed', 'refunded')
            GROUP BY u.id
            HAVING u.credit_balance <> COALESCE(SUM(t.amount), 0)
        """,
        "charge without participation": """
            SELECT t.id FROM accounts_credittransaction t
            WHERE t.kind = 'stream_charge'
              AND NOT EXISTS (SELECT 1 FROM livestreams_participant p WHERE p.charge_id = t.id)
        """,
        "paid participation without charge": """
            SELECT p.id FROM livestreams_participant p
            JOIN livestreams_livestream s ON s.id = p.live_stream_id
            WHERE s.price > 0 AND p.charge_id IS NULL
        """,
        "revenue without charge": """
            SELECT t.id FROM accounts_credittransaction t
            WHERE t.kind = 'stream_revenue'
              AND NOT EXISTS (
                SELECT 1 FROM accounts_credittransaction c
                WHERE c.id = t.related_id AND c.kind = 'stream_charge')
        """,
        "funding entry without contribution": """
            SELECT t.id FROM accounts_credittransaction t
            WHERE t.kind = 'stream_funding_contribution'
              AND NOT EXISTS (
                SELECT 1 FROM livestreams_contribution c WHERE c.transaction_id = t.id)
        """,
        "contribution without its funding entry": """
            SELECT c.id FROM livestreams_contribution c
            WHERE NOT EXISTS (
                SELECT 1 FROM accounts_credittransaction t
                WHERE t.id = c.transaction_id AND t.kind = 'stream_funding_contribution'
                  AND t.user_id = c.user_id AND t.live_stream_id = c.live_stream_id
                  AND t.amount = -c.amount)
        """,
        "collected funding != completed contributions": """
            SELECT s.id, s.collected_funding, COALESCE(SUM(c.amount), 0)
            FROM livestreams_livestream s
            LEFT JOIN livestreams_contribution c
              ON c.live_stream_id = s.id AND c.status = 'completed'
            GROUP BY s.id
            HAVING s.collected_funding <> COALESCE(SUM(c.amount), 0)
        """,
    }
    problems = []
    with conn.cursor() as cursor:
        for name, sql in checks.items():
            cursor.execute(sql)
            problems += [f"{name}: {row}" for row in cursor.fetchall()]
    return problems


def scalar(conn, sql: str, *params):
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def balance(conn, user_id: str) -> Decimal:
    return scalar(conn, "SELECT credit_balance FROM accounts_user WHERE id = %s", user_id)


def ledger_count(conn, user_id: str) -> int:
    return scalar(
        conn, "SELECT count(*) FROM accounts_credittransaction WHERE user_id = %s", user_id
    )


def money_state(pg, seed, user_id: str) -> dict:
    """What a paid join or a fund by this user could change."""
    paid, scheduled = seed["paidStream"]["id"], seed["scheduledStream"]["id"]
    host = seed["users"]["host"]["id"]
    return {
        "balance": balance(pg, user_id),
        "entries": ledger_count(pg, user_id),
        "host balance": balance(pg, host),
        "host entries": ledger_count(pg, host),
        "participations": scalar(
            pg,
            "SELECT count(*) FROM livestreams_participant WHERE live_stream_id = %s "
            "AND user_id = %s",
            paid,
            user_id,
        ),
        "contributions": scalar(
            pg, "SELECT count(*) FROM livestreams_contribution WHERE user_id = %s", user_id
        ),
        "collected": scalar(
            pg, "SELECT collected_funding FROM livestreams_livestream WHERE id = %s", scheduled
        ),
    }


# --- Holding a request at a chosen point, from the database side ------------------------

GATE_KEY = 6_006_006


@contextmanager
def user_row_locked(postgres, user_id: str):
    """The user's row locked FOR UPDATE by an open transaction of the test, as a
    concurrent request of the same user would hold it."""
    holder = postgres.connect(autocommit=False)
    try:
        holder.execute("SELECT id FROM accounts_user WHERE id = %s FOR UPDATE", (user_id,))
        yield holder.info.backend_pid
    finally:
        holder.rollback()
        holder.close()


@contextmanager
def inserts_held(postgres, table: str):
    """Inserts into `table` wait, inside their transaction, until the block ends:
    a trigger takes a shared advisory lock that the test holds exclusively. (The
    block may stop PostgreSQL: the trigger is dropped once it is back.)"""
    with postgres.connect() as admin:
        admin.execute(
            "CREATE OR REPLACE FUNCTION fault_gate() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN PERFORM pg_advisory_xact_lock_shared({GATE_KEY}); RETURN NEW; END $$"
        )
        admin.execute(
            f"CREATE TRIGGER fault_gate BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION fault_gate()"
        )
    holder = postgres.connect()
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (GATE_KEY,))
        yield holder.info.backend_pid
    finally:
        holder.close()  # ends its session, and with it the advisory lock
        postgres.ensure_running()
        with postgres.connect() as admin:
            admin.execute(f"DROP TRIGGER IF EXISTS fault_gate ON {table}")


@contextmanager
def inserts_stalled(postgres, table: str, user_id: str):
    """Inserts into `table` of rows for this user stall (for a minute) inside their
    transaction: a trigger sleeps. Unlike a held lock, nothing the test does (or
    loses, as when the server stops) lets them through."""
    with postgres.connect() as admin:
        admin.execute(
            "CREATE OR REPLACE FUNCTION fault_stall() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF NEW.user_id = TG_ARGV[0] THEN PERFORM pg_sleep(60); END IF; "
            "RETURN NEW; END $$"
        )
        admin.execute(
            f"CREATE TRIGGER fault_stall BEFORE INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION fault_stall('{user_id}')"
        )
    try:
        yield
    finally:
        postgres.ensure_running()
        with postgres.connect() as admin:
            admin.execute(f"DROP TRIGGER IF EXISTS fault_stall ON {table}")


def stalled_backend(pg, table: str) -> int:
    """The app's database session stalled in an insert into `table`: its pid."""
    return wait_for(
        lambda: scalar(
            pg,
            "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE %s",
            f'INSERT INTO "{table}"%',
        ),
        seconds=15,
        message="the request never reached the stalled insert",
    )


def blocked_backend(pg, holder_pid: int) -> tuple[int, int]:
    """The app's database session waiting for the test's lock: (pid, client port)."""
    return wait_for(
        lambda: pg.execute(
            "SELECT pid, client_port FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
            (holder_pid,),
        ).fetchone(),
        seconds=15,
        message="the request never reached the held point",
    )


def has_written_ledger(pg, backend_pid: int) -> bool:
    """Whether that session's transaction has already inserted ledger entries."""
    return bool(
        scalar(
            pg,
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND c.relname = 'accounts_credittransaction' "
            "AND l.mode = 'RowExclusiveLock'",
            backend_pid,
        )
    )


def in_background(request):
    outcome = {}

    def run():
        try:
            outcome["response"] = request()
        except requests.RequestException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


# --- Processes --------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """The live child processes of `pid` (from /proc; psutil is not installed)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(int(entry.name))
    return sorted(children)


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        fds = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _tcp_inodes_by_local_port(port: int, remote_port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if (
                int(local.rsplit(":", 1)[1], 16) == port
                and int(remote.rsplit(":", 1)[1], 16) == remote_port
            ):
                inodes.add(inode)
    return inodes


def process_with_connection(candidates, *, local_port: int, remote_port: int) -> int | None:
    """Which of `candidates` (pids) holds the TCP connection from `local_port` to
    `remote_port` on this machine."""
    wanted = _tcp_inodes_by_local_port(local_port, remote_port)
    for pid in candidates:
        if wanted & _socket_inodes(pid):
            return pid
    return None
