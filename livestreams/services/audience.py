"""The audience: joining an active stream (paid once), renewing tokens, leaving."""

from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.db.models.sql import InsertQuery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import TransactionKind, User
from accounts.services.credits import lock_users
from allmine.core.errors import InsufficientPermissions, NotFound
from livestreams.agora import tokens
from livestreams.agora.tokens import Credentials
from livestreams.caching import forget_stream, forget_viewer_counts
from livestreams.lifecycle import AccessType, Role, ensure_may_be_in_channel, ensure_may_join
from livestreams.models import Guest, LiveStream, Participant
from livestreams.selectors.snapshots import CallerFlags, caller_view, snapshot_for_caller
from livestreams.selectors.viewing import role_in_stream
from livestreams.services.access import refuse_blocked, stream_for
from livestreams.services.money import charge_with_revenue, revenue_recipients
from livestreams.services.results import AudienceJoinResult, LeaveResult


def _client_details(device: dict[str, Any], ip_address: str | None) -> dict[str, str | None]:
    fields = ("device_type", "device_model", "os_version", "app_version", "country")
    details = {name: (device.get(name) or "")[:100] for name in fields}
    details["ip_address"] = ip_address
    return details


def livestream_join_as_audience(
    *,
    user: User,
    live_stream_id: str,
    device: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AudienceJoinResult:
    """An audience member joins an active stream. A paid stream charges its price
    once per user and stream; joining again never charges again."""
    for attempt in range(2):
        try:
            return _join_as_audience_once(
                user=user, live_stream_id=live_stream_id, device=device or {}, ip_address=ip_address
            )
        except IntegrityError:
            # The same user's concurrent first join won the race (the unique
            # participant row); this attempt was rolled back, charge and all.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _join_as_audience_once(
    *, user: User, live_stream_id: str, device: dict[str, Any], ip_address: str | None
) -> AudienceJoinResult:
    """The stream's representation comes from the cached snapshot; what decides
    the join (the caller's ban and participation, the stream's status and price)
    is read from the database with the caller's flags, so nothing cached decides
    it."""
    now = timezone.now()
    try:
        snapshot, flags = snapshot_for_caller(live_stream_id, user)
    except NotFound:
        raise NotFound(_("No live stream has this id.")) from None
    stream = snapshot.stream
    if stream.creator_id == user.pk or user.pk in stream.guest_ids:
        raise InsufficientPermissions(_("Broadcasters join with join-as-creator or join-as-guest."))
    stream.viewer_is_blocked = flags.blocked
    refuse_blocked(stream)
    ensure_may_join(Role.AUDIENCE, stream.status)
    details = _client_details(device, ip_address)
    # What the answer needs is read and built before the write: after it, only the
    # stream's cached snapshot is rendered (in the view).
    credentials = tokens.issue_credentials(
        channel_name=stream.channel_name, user=user, role=tokens.AUDIENCE, now=now
    )
    view = caller_view(snapshot, user, now, replace(flags, joined=True))
    if flags.joined or stream.access_type == AccessType.PAID:
        with transaction.atomic():
            _join_in_transaction(stream, user, flags, details, now)
    else:
        # A first free join is one statement, committed on its own: its participant
        # row, whose triggers move the kept count and raise the peak (migration
        # 0018). A concurrent first join of the same user makes it fail on the
        # unique row, and it is retried (then as a rejoin). Inside a caller's
        # transaction, a savepoint keeps that failure from breaking it.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            participant_insert(_participant(stream, user, details, now))
    return AudienceJoinResult(snapshot=snapshot, caller=view, credentials=credentials)


def _participant(
    stream: LiveStream,
    user: User,
    details: dict[str, str | None],
    now: datetime,
    charge: Any = None,
) -> Participant:
    return Participant(
        live_stream_id=stream.pk,
        user=user,
        first_joined_at=now,
        last_joined_at=now,
        last_seen_at=now,
        charge=charge,
        **details,
    )


def _join_in_transaction(
    stream: LiveStream,
    user: User,
    flags: CallerFlags,
    details: dict[str, str | None],
    now: datetime,
) -> None:
    """A rejoin, or a first join of a paid stream (charged), under the locks that
    decide them one at a time."""
    recipients = None
    if stream.access_type == AccessType.PAID and not flags.joined:
        # A first paid join: lock the payer (and payees) before reading the
        # Participant row, so that this user's concurrent first joins are decided
        # one at a time and the later ones see the row (and the charge) of the first.
        recipients = revenue_recipients(stream)
        lock_users([user.pk, *(uid for uid, _share in recipients)])
    participant = (
        Participant.objects.select_for_update().filter(live_stream=stream, user=user).first()
    )
    if participant is None:
        charge = None
        if stream.access_type == AccessType.PAID:
            assert stream.price is not None  # a paid stream has a price
            charge = charge_with_revenue(
                payer=user,
                stream=stream,
                price=stream.price,
                kinds=(TransactionKind.STREAM_CHARGE, TransactionKind.STREAM_REVENUE),
                recipients=recipients or revenue_recipients(stream),
            )
        participant_insert(_participant(stream, user, details, now, charge))
        return
    if participant.is_present:
        participant.watch_seconds += _seconds_between(participant.last_joined_at, now)
    participant.is_present = True
    participant.last_joined_at = now
    participant.last_seen_at = now
    participant.join_count += 1
    changed = ["is_present", "last_joined_at", "last_seen_at", "join_count", "watch_seconds"]
    for name, value in details.items():
        if value:
            setattr(participant, name, value)
            changed.append(name)
    participant.save(update_fields=changed)


_INSERT_SQL: dict[str, str] = {}


def participant_insert(participant: Participant) -> None:
    """INSERT the new participant row (no signals, as `bulk_create`), and forget
    the stream's cached viewer count when it commits. The ORM builds and compiles
    the statement once per database vendor (its text is the same for every row);
    each row's values are then prepared by their fields as the ORM prepares them
    (`pre_save`, then `get_db_prep_save`). Building and compiling the INSERT cost
    a join more CPU than running it."""
    fields = Participant._meta.concrete_fields
    vendor = connection.vendor
    if vendor not in _INSERT_SQL:
        query = InsertQuery(Participant)
        query.insert_values(fields, [participant])
        [(sql, _params)] = query.get_compiler(connection=connection).as_sql()
        _INSERT_SQL[vendor] = sql
    values = [
        field.get_db_prep_save(field.pre_save(participant, True), connection) for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL[vendor], values)
    participant._state.adding = False
    participant._state.db = connection.alias
    forget_viewer_counts([participant.live_stream_id])


def _seconds_between(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def livestream_renew_token(
    *, user: User, live_stream_id: str, sign_of_life: bool = True
) -> Credentials:
    """Fresh credentials for the caller's current role, after every check of the
    original join is made again. A viewer's renewal is a sign of life (their
    presence does not expire); `sign_of_life=False` (the staff command that shows
    a client's credentials) changes nothing."""
    now = timezone.now()
    stream = stream_for(user, live_stream_id)
    role = role_in_stream(stream, user)
    if role is None:
        raise InsufficientPermissions(_("You have not joined this live stream."))
    refuse_blocked(stream)
    ensure_may_be_in_channel(role, stream.status)
    if sign_of_life and role == Role.AUDIENCE:
        Participant.objects.filter(live_stream=stream, user=user, is_present=True).update(
            last_seen_at=now
        )
    return tokens.issue_credentials(
        channel_name=stream.channel_name,
        user=user,
        role=tokens.AUDIENCE if role == Role.AUDIENCE else tokens.HOST,
        now=now,
    )


def livestream_leave(*, user: User, live_stream_id: str) -> LeaveResult:
    """Record that the caller left the channel (broadcaster state, watch time)."""
    now = timezone.now()
    with transaction.atomic():
        stream = stream_for(user, live_stream_id)
        role = role_in_stream(stream, user)
        watch_seconds = None
        if role == Role.HOST:
            LiveStream.objects.filter(pk=stream.pk).update(host_present=False, updated_at=now)
            forget_stream(stream.pk)
        elif role == Role.GUEST:
            Guest.objects.filter(live_stream=stream, user=user).update(has_joined=False)
            forget_stream(stream.pk)
        elif role == Role.AUDIENCE:
            participant = (
                Participant.objects.select_for_update().filter(live_stream=stream, user=user).get()
            )
            if participant.mark_left(now):
                participant.save(update_fields=Participant.LEAVE_FIELDS)
            watch_seconds = participant.watch_seconds
        else:
            raise InsufficientPermissions(_("You have not joined this live stream."))
    return LeaveResult(live_stream_id=stream.pk, role=role, watch_seconds=watch_seconds)


def participants_leave(present: QuerySet[Participant], when: datetime) -> None:
    """Every participant in `present` (a queryset) leaves at `when`, in batches."""
    batch: list[Participant] = []
    streams: set[str] = set()
    fields = ("pk", "live_stream_id", "is_present", "last_joined_at", "watch_seconds")
    for participant in present.only(*fields).iterator(chunk_size=2000):
        if participant.mark_left(when):
            batch.append(participant)
            streams.add(participant.live_stream_id)
        if len(batch) >= 2000:
            Participant.objects.bulk_update(batch, Participant.LEAVE_FIELDS)
            batch = []
    if batch:
        Participant.objects.bulk_update(batch, Participant.LEAVE_FIELDS)
    forget_viewer_counts(streams)


def audience_leaves(stream: LiveStream, now: datetime) -> None:
    """Everyone still watching leaves with the stream (their watch time is kept),
    and no broadcaster is in the channel any more."""
    participants_leave(Participant.objects.filter(live_stream=stream, is_present=True), now)
    Guest.objects.filter(live_stream=stream).update(has_joined=False)
    forget_stream(stream.pk)
