"""The event benchmarks' data steps (bench/event.py), run like bench/setup_data.py
in the benchmark's environment: `python bench/event_data.py STEP [options]`; each
step prints one JSON object on its last line of output.

Steps:
  event      a creator (and their token), an active paid stream with --existing
             viewers already in (free: inserted with COPY, no charge), and --viewers
             users holding --credits each through a ledger entry (COPY), with their
             tokens in --tokens and ids in --ids
  moderator  a staff user in the Moderators group with a password, for the admin
  check      after an event: participations, charges, every user's balance against
             their ledger, the creator's revenue, who is still present, Agora kicks
"""

import argparse
import json
import secrets
import time
from decimal import Decimal
from pathlib import Path

import setup_data
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus, User
from allmine.core.ids import new_object_id
from livestreams.agora.channels import new_channel_name
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import AgoraKick, LiveStream, Participant

_copy, create_users, write_tokens = (
    setup_data._copy,
    setup_data.create_users,
    setup_data.write_tokens,
)

LEDGER_COLUMNS = (
    "id",
    "user_id",
    "kind",
    "status",
    "amount",
    "balance_after",
    "reason",
    "created_at",
    "completed_at",
)


def give_credits(ids: list[str], credits: Decimal) -> None:
    """Each user gets `credits` through one completed admin_adjustment entry, so
    that balance == ledger holds from the start."""
    now = timezone.now().isoformat()
    rows = (
        (new_object_id(), u, TransactionKind.ADMIN_ADJUSTMENT, TransactionStatus.COMPLETED,
         str(credits), str(credits), "bench: event credits", now, now)
        for u in ids
    )  # fmt: skip
    with transaction.atomic():
        _copy(CreditTransaction._meta.db_table, LEDGER_COLUMNS, rows)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE accounts_user SET credit_balance = %s WHERE id = ANY(%s)", [credits, ids]
            )


def _active_stream(title: str, price: Decimal, now) -> LiveStream:
    (creator_id,) = create_users(1, "host")
    return LiveStream.objects.create(
        id=new_object_id(),
        creator_id=creator_id,
        title=title,
        channel_name=new_channel_name(title),
        status=LiveStreamStatus.ACTIVE,
        started_at=now,
        host_joined_at=now,
        host_present=True,
        created_at=now,
        price=price or None,
    )


def _audience(stream: LiveStream, ids: list[str], now) -> None:
    """`ids` in the stream's audience (present, nothing charged), by COPY."""
    joined = now.isoformat()
    rows = (
        (new_object_id(), "t", joined, joined, joined, "0", "1", "ios", "", "", "", "",
         stream.pk, u)
        for u in ids
    )  # fmt: skip
    with transaction.atomic():
        _copy(Participant._meta.db_table, setup_data.PARTICIPANT_COLUMNS, rows)


def step_event(args) -> dict:
    """The event's free stream and, for the paying subset, a paid stream of another
    creator, both with the same --existing audience already in."""
    started = time.perf_counter()
    now = timezone.now()
    stream = _active_stream(args.title, Decimal(0), now)
    paid = _active_stream(f"{args.title} (paid)", Decimal(args.price), now)
    if args.existing:
        ids = create_users(args.existing, "aud")
        _audience(stream, ids, now)
        _audience(paid, ids, now)
    viewers = create_users(args.viewers, args.prefix)
    give_credits(viewers, Decimal(args.credits))
    write_tokens(viewers, args.tokens)
    Path(args.ids).write_text("\n".join(viewers) + "\n")
    creator = User(id=stream.creator_id, is_active=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "stream": stream.pk,
        "paid_stream": paid.pk,
        "creator_token": f"Bearer {AccessToken.for_user(creator)}",
        "existing": Participant.objects.filter(live_stream=stream).count(),
        "viewers": len(viewers),
        "seconds": round(time.perf_counter() - started, 2),
    }


def step_moderator(args) -> dict:
    user = User.objects.create_user(
        username=f"benchmod{secrets.token_hex(3)}",
        email=f"benchmod{secrets.token_hex(3)}@bench.example",
        password=args.password,
        is_staff=True,
    )
    user.groups.add(Group.objects.get(name="Moderators"))
    return {"username": user.username}


def _once(cursor, stream_id: str, ids: list[str]) -> tuple[int, int]:
    """Of `ids`: how many have exactly one participation in the stream, how many more."""
    cursor.execute(
        "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n > 1)"
        " FROM (SELECT user_id, count(*) AS n FROM livestreams_participant"
        " WHERE live_stream_id = %s AND user_id = ANY(%s) GROUP BY user_id) AS p",
        [stream_id, ids],
    )
    return cursor.fetchone()


def step_check(args) -> dict:
    """What the event left: each figure is compared with what it should be by the
    harness. Every viewer holds --credits; those of --paid-ids joined the paid
    stream and paid its price once."""
    ids = Path(args.ids).read_text().split()
    paid_ids = Path(args.paid_ids).read_text().split()
    price, credits = Decimal(args.price), Decimal(args.credits)
    stream = LiveStream.objects.get(pk=args.stream)
    paid = LiveStream.objects.get(pk=args.paid_stream)
    with connection.cursor() as cursor:
        exactly_one, more = _once(cursor, stream.pk, ids)
        paid_once, paid_more = _once(cursor, paid.pk, paid_ids)
        # Each viewer's charges for the paid stream (count and sum) and balance.
        cursor.execute(
            "SELECT count(*) FILTER (WHERE u.id = ANY(%s) AND c.n = 1 AND c.total = -%s),"
            " count(*) FILTER (WHERE u.id = ANY(%s) AND (c.n IS NULL OR c.n <> 1"
            "  OR c.total <> -%s) OR NOT u.id = ANY(%s) AND c.n IS NOT NULL),"
            " count(*) FILTER (WHERE u.credit_balance = CASE WHEN u.id = ANY(%s)"
            "  THEN %s - %s ELSE %s END)"
            " FROM accounts_user u LEFT JOIN ("
            "  SELECT user_id, count(*) AS n, sum(amount) AS total FROM accounts_credittransaction"
            "  WHERE live_stream_id = %s AND kind = %s GROUP BY user_id) c ON c.user_id = u.id"
            " WHERE u.id = ANY(%s)",
            [paid_ids, price, paid_ids, price, paid_ids, paid_ids, credits, price, credits,
             paid.pk, TransactionKind.STREAM_CHARGE, ids],
        )  # fmt: skip
        charged_once, charged_wrong, balance_as_expected = cursor.fetchone()
        # The ledger invariant for every user: balance == completed + refunded entries.
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE u.credit_balance <> coalesce(l.total, 0))"
            " FROM accounts_user u LEFT JOIN ("
            "  SELECT user_id, sum(amount) AS total FROM accounts_credittransaction"
            "  WHERE status IN ('completed', 'refunded') GROUP BY user_id) l"
            " ON l.user_id = u.id",
        )
        users, ledger_mismatches = cursor.fetchone()
    kicks = {}
    for kick in AgoraKick.objects.filter(live_stream=stream):
        kicks[kick.status] = kicks.get(kick.status, 0) + 1
    rows = Participant.objects.filter(live_stream=stream)
    revenue = CreditTransaction.objects.filter(
        user_id=paid.creator_id, live_stream=paid, kind=TransactionKind.STREAM_REVENUE
    ).values_list("amount", flat=True)
    return {
        "status": stream.status,
        "rows": rows.count(),
        "present": rows.filter(is_present=True).count(),
        "viewers": len(ids),
        "paying": len(paid_ids),
        "exactly_one": exactly_one,
        "more_than_one": more,
        "paid_exactly_one": paid_once,
        "paid_more_than_one": paid_more,
        "charged_once": charged_once,
        "charged_wrong": charged_wrong,
        "balance_as_expected": balance_as_expected,
        "users": users,
        "ledger_mismatches": ledger_mismatches,
        "creator_revenue": str(sum(revenue, Decimal(0))),
        "kicks": kicks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    p = steps.add_parser("event")
    p.add_argument("--title", default="The event")
    p.add_argument("--existing", type=int, default=0)
    p.add_argument("--viewers", type=int, required=True)
    p.add_argument("--price", default="5")
    p.add_argument("--credits", default="100")
    p.add_argument("--prefix", default="ev")
    p.add_argument("--tokens", required=True)
    p.add_argument("--ids", required=True)
    p = steps.add_parser("moderator")
    p.add_argument("--password", required=True)
    p = steps.add_parser("check")
    p.add_argument("--stream", required=True)
    p.add_argument("--paid-stream", required=True)
    p.add_argument("--ids", required=True)
    p.add_argument("--paid-ids", required=True)
    p.add_argument("--price", default="5")
    p.add_argument("--credits", default="100")
    args = parser.parse_args()
    step = {"event": step_event, "moderator": step_moderator, "check": step_check}[args.step]
    print(json.dumps(step(args)))


if __name__ == "__main__":
    main()
