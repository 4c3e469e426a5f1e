"""The benchmarks' data steps, run by bench/run.py in the benchmark's environment
(production settings on the benchmark database). A plain script, not a management
command: `python bench/setup_data.py STEP [options]`; each step prints one JSON
object on its last line of output.

Steps:
  users      N users in bulk (COPY) and their access tokens, one `Bearer <jwt>` line
             each, in --tokens (and their ids in --ids)
  stream     a creator and an active free stream, with --participants users already
             in its audience (users and participations inserted with COPY)
  verify     the participations of a stream: rows, distinct users, and whether each
             user of --ids has exactly one
  queries    the SQL statements of one audience join (a fresh user, Django's test
             client, CaptureQueriesContext) on each of --streams
  breakdown  CPU and wall time of each part of a join, and of whole requests
  profile    N joins through the test client under pyinstrument (if installed)
"""

import argparse
import io
import json
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allmine.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402
from allmine.core.ids import new_object_id  # noqa: E402
from livestreams.agora.channels import new_channel_name  # noqa: E402
from livestreams.lifecycle import LiveStreamStatus  # noqa: E402
from livestreams.models import LiveStream, Participant  # noqa: E402

USER_COLUMNS = (
    "id",
    "password",
    "is_superuser",
    "username",
    "email",
    "name",
    "surname",
    "availability_status",
    "agora_uid",
    "credit_balance",
    "is_active",
    "is_staff",
    "created_at",
    "updated_at",
)
PARTICIPANT_COLUMNS = (
    "id",
    "is_present",
    "first_joined_at",
    "last_joined_at",
    "last_seen_at",
    "watch_seconds",
    "join_count",
    "device_type",
    "device_model",
    "os_version",
    "app_version",
    "country",
    "live_stream_id",
    "user_id",
)


def _copy(table: str, columns: tuple, rows) -> None:
    """COPY rows (tuples of text or None) into `table`."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _new_agora_uids(count: int) -> list[int]:
    """Agora uids no existing user has (random, in 1..2^32-1)."""
    taken = set(User.objects.values_list("agora_uid", flat=True))
    uids = set()
    while len(uids) < count:
        uid = secrets.randbelow(2**32 - 1) + 1
        if uid not in taken:
            uids.add(uid)
    return list(uids)


def create_users(count: int, prefix: str) -> list[str]:
    """`count` active users (no usable password), inserted with COPY; their ids."""
    now = timezone.now().isoformat()
    ids = [new_object_id() for _ in range(count)]
    uids = _new_agora_uids(count)
    tag = secrets.token_hex(3)
    rows = (
        (
            user_id,
            "!",  # unusable password: these users only ever hold a token
            "f",
            f"{prefix}{tag}{n:07d}"[:30],
            f"{prefix}{tag}{n:07d}@bench.example",
            "Bench",
            f"Viewer {n}",
            "available",
            str(uid),
            "0.00",
            "t",
            "f",
            now,
            now,
        )
        for n, (user_id, uid) in enumerate(zip(ids, uids, strict=True))
    )
    with transaction.atomic():
        _copy(User._meta.db_table, USER_COLUMNS, rows)
    return ids


def write_tokens(ids: list[str], path: str) -> None:
    """One `Bearer <access token>` line per user, in the order of `ids`."""
    with open(path, "w") as out:
        for user_id in ids:
            out.write(f"Bearer {AccessToken.for_user(User(id=user_id, is_active=True))}\n")


def step_users(args) -> dict:
    started = time.perf_counter()
    ids = create_users(args.count, args.prefix)
    write_tokens(ids, args.tokens)
    if args.ids:
        Path(args.ids).write_text("\n".join(ids) + "\n")
    return {"users": len(ids), "seconds": round(time.perf_counter() - started, 2)}


def step_stream(args) -> dict:
    started = time.perf_counter()
    now = timezone.now()
    (creator_id,) = create_users(1, "creator")
    title = args.title
    stream = LiveStream.objects.create(
        id=new_object_id(),
        creator_id=creator_id,
        title=title,
        channel_name=new_channel_name(title),
        status=LiveStreamStatus.ACTIVE,
        started_at=now,
        host_joined_at=now,
        host_present=True,
        created_at=now,
    )
    if args.participants:
        ids = create_users(args.participants, "aud")
        joined = now.isoformat()
        rows = (
            (
                new_object_id(),
                "t",
                joined,
                joined,
                joined,
                "0",
                "1",
                "ios",
                "",
                "",
                "",
                "",
                stream.pk,
                u,
            )
            for u in ids
        )
        with transaction.atomic():
            _copy(Participant._meta.db_table, PARTICIPANT_COLUMNS, rows)
    # What autovacuum would have done by the time a stream has this audience.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "stream": stream.pk,
        "participants": Participant.objects.filter(live_stream=stream).count(),
        "seconds": round(time.perf_counter() - started, 2),
    }


def step_verify(args) -> dict:
    ids = Path(args.ids).read_text().split() if args.ids else []
    rows = Participant.objects.filter(live_stream_id=args.stream)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM ("
            " SELECT user_id FROM livestreams_participant"
            " WHERE live_stream_id = %s AND user_id = ANY(%s)"
            " GROUP BY user_id HAVING count(*) = 1) AS once",
            [args.stream, ids],
        )
        (exactly_once,) = cursor.fetchone()
    return {
        "rows": rows.count(),
        "distinct_users": rows.values("user_id").distinct().count(),
        "users": len(ids),
        "users_with_exactly_one": exactly_once,
        "present": rows.filter(is_present=True).count(),
    }


def _join(client: Client, stream_id: str, token: str):
    return client.post(
        "/api/v1/live-stream/join",
        data=json.dumps({"liveStreamId": stream_id}),
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
        HTTP_HOST="localhost",
    )


def step_queries(args) -> dict:
    client = Client()
    result = {}
    for stream_id in args.streams.split(","):
        (user_id,) = create_users(1, "q")
        token = f"Bearer {AccessToken.for_user(User(id=user_id, is_active=True))}"
        _join(client, stream_id, token)  # warm: the first request of a process
        (user_id,) = create_users(1, "q")
        token = f"Bearer {AccessToken.for_user(User(id=user_id, is_active=True))}"
        with CaptureQueriesContext(connection) as first:
            response = _join(client, stream_id, token)
        assert response.status_code == 200, response.content[:300]
        with CaptureQueriesContext(connection) as again:
            response = _join(client, stream_id, token)
        assert response.status_code == 200, response.content[:300]
        result[stream_id] = {
            "participants": Participant.objects.filter(live_stream_id=stream_id).count(),
            "first_join": len(first.captured_queries),
            "rejoin": len(again.captured_queries),
            "first_join_sql": [q["sql"][:160] for q in first.captured_queries],
        }
    return result


def _timed(fn, arguments) -> dict:
    """CPU and wall milliseconds per call of `fn(a)` for each a in `arguments`."""
    fn(arguments[0])
    cpu, wall = time.process_time(), time.perf_counter()
    for argument in arguments[1:]:
        fn(argument)
    n = len(arguments) - 1
    return {
        "cpu_ms": (time.process_time() - cpu) * 1000 / n,
        "wall_ms": (time.perf_counter() - wall) * 1000 / n,
    }


def step_breakdown(args) -> dict:
    """What each part of an audience join costs in this process (CPU and wall ms
    per call), next to the whole join and the whole GET /auth/me."""
    from rest_framework.test import APIRequestFactory

    from accounts.authentication import BearerAuthentication
    from allmine.core.representation import represent
    from allmine.core.throttling import JoinThrottle
    from livestreams.agora import tokens as agora
    from livestreams.api.inputs import AudienceJoinInputSerializer
    from livestreams.api.joining import AudienceJoinResponseSerializer
    from livestreams.selectors.snapshots import caller_view, snapshot_for_caller
    from livestreams.services.audience import participant_insert
    from livestreams.services.results import AudienceJoinResult

    n = args.count
    client = Client()
    stream_id = args.stream
    tokens = {}
    for part in ("join", "me", "parts"):
        ids = create_users(n + 1, part[:2])
        tokens[part] = [f"Bearer {AccessToken.for_user(User(id=u, is_active=True))}" for u in ids]
    users = list(User.objects.filter(pk__in=ids).select_related("profile_photo"))
    factory = APIRequestFactory()

    def drf_request(token):
        from rest_framework.request import Request

        return Request(factory.post("/", HTTP_AUTHORIZATION=token))

    authenticated = drf_request(tokens["parts"][0])
    authenticated.user = users[0]
    now = timezone.now()
    snapshot, flags = snapshot_for_caller(stream_id, users[0])
    credentials = agora.issue_credentials(
        channel_name=snapshot.stream.channel_name, user=users[0], role=agora.AUDIENCE, now=now
    )
    view = caller_view(snapshot, users[0], now, flags)
    answer = AudienceJoinResult(snapshot=snapshot, caller=view, credentials=credentials)

    def insert(user):
        joined = Participant(live_stream_id=stream_id, user=user)
        participant_insert(joined)

    parts = {
        "authenticate: JWT + user row (also in /auth/me)": _timed(
            lambda t: BearerAuthentication().authenticate(drf_request(t)), tokens["parts"]
        ),
        "throttle: Redis counter (one round trip)": _timed(
            lambda _u: JoinThrottle().allow_request(authenticated, None), users
        ),
        "input validation": _timed(
            lambda _u: AudienceJoinInputSerializer(data={"liveStreamId": stream_id}).is_valid(),
            users,
        ),
        "cached snapshot + caller's flags: 1 query (snapshot_for_caller)": _timed(
            lambda u: snapshot_for_caller(stream_id, u), users
        ),
        "Agora RTC + RTM tokens": _timed(
            lambda u: agora.issue_credentials(
                channel_name=snapshot.stream.channel_name, user=u, role=agora.AUDIENCE, now=now
            ),
            users,
        ),
        "the answer: stream from its snapshot, caller's part, tokens (represent)": _timed(
            lambda _u: represent(AudienceJoinResponseSerializer, answer), users
        ),
        "participation: one INSERT committed on its own (count, peak: triggers)": _timed(
            insert, users
        ),
    }
    whole = {
        "POST /live-stream/join, whole request (test client)": _timed(
            lambda t: _join(client, stream_id, t), tokens["join"]
        ),
        "GET /auth/me, whole request (test client)": _timed(
            lambda t: client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=t, HTTP_HOST="localhost"),
            tokens["me"],
        ),
    }
    return {"calls": n, "parts": parts, "whole": whole}


def step_profile(args) -> dict:
    from pyinstrument import Profiler

    client = Client()
    ids = create_users(args.count, "prof")
    tokens = [f"Bearer {AccessToken.for_user(User(id=u, is_active=True))}" for u in ids]
    _join(client, args.stream, tokens.pop())
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    with profiler:
        for token in tokens:
            assert _join(client, args.stream, token).status_code == 200
    elapsed = time.perf_counter() - started
    out = io.StringIO()
    out.write(profiler.output_text(unicode=False, color=False, show_all=False))
    Path(args.out).write_text(out.getvalue())
    return {"joins": len(tokens), "ms_per_join": round(elapsed * 1000 / len(tokens), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    p = steps.add_parser("users")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--prefix", default="v")
    p.add_argument("--tokens", required=True)
    p.add_argument("--ids")
    p = steps.add_parser("stream")
    p.add_argument("--title", default="Benchmark stream")
    p.add_argument("--participants", type=int, default=0)
    p = steps.add_parser("verify")
    p.add_argument("--stream", required=True)
    p.add_argument("--ids")
    p = steps.add_parser("queries")
    p.add_argument("--streams", required=True)
    p = steps.add_parser("breakdown")
    p.add_argument("--stream", required=True)
    p.add_argument("--count", type=int, default=300)
    p = steps.add_parser("profile")
    p.add_argument("--stream", required=True)
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--out", required=True)
    args = parser.parse_args()
    step = {
        "users": step_users,
        "stream": step_stream,
        "verify": step_verify,
        "queries": step_queries,
        "profile": step_profile,
        "breakdown": step_breakdown,
    }[args.step]
    print(json.dumps(step(args)))


if __name__ == "__main__":
    main()
