"""Writes for live streams: creating them and letting broadcasters in (spec §3).

Every rule of the contract about these operations is written here once; the
views, the admin and the management commands all call these functions.

A service that returns a stream reads what the response shows inside its own
transaction: a database failure after the commit can then never turn a change
that was saved into an error the client would retry (and pay twice for).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import TransactionKind, TransactionStatus
from accounts.services import credit_post, lock_users
from allmine.audit import audit_record
from allmine.exceptions import Conflict, InsufficientPermissions, NotFound, ValidationFailed
from allmine.ids import new_object_id
from allmine.images import ProcessedImage
from allmine.media import StoredFiles, delete_files_on_commit
from livestreams import agora, agora_rest
from livestreams.channels import new_channel_name
from livestreams.models import (
    JOINABLE_STATUSES,
    OPEN_STATUSES,
    BanAction,
    Contribution,
    ContributionStatus,
    Guest,
    LiveStream,
    LiveStreamBan,
    LiveStreamStatus,
    LiveStreamType,
    Participant,
    ReplayAccess,
)
from livestreams.selectors import (
    ROLE_AUDIENCE,
    ROLE_GUEST,
    ROLE_HOST,
    overdue_streams_filter,
    prepare_for_viewer,
    role_in_stream,
    stream_is_rentable,
    streams_for_user,
    user_is_blocked,
)

CHANNEL_NAME_ATTEMPTS = 8
User = get_user_model()


@dataclass(frozen=True)
class JoinResult:
    live_stream: LiveStream
    credentials: dict


# --- Rules shared with the back office ---------------------------------------------


def validate_price(field: str, value: Decimal | None, *, maximum: Decimal | None = None) -> None:
    """A price or credit amount: not negative, at most 2 decimals, within the maximum."""
    if value is None:
        return
    maximum = settings.LIVESTREAM_MAX_PRICE if maximum is None else maximum
    if value < 0:
        raise ValidationFailed.field(field, "Must not be negative.")
    if value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise ValidationFailed.field(field, "Use at most 2 decimals.")
    if value > maximum:
        raise ValidationFailed.field(field, f"Must be at most {maximum}.")


def refuse_blocked(stream: LiveStream) -> None:
    """The one place the join and renew paths refuse a user banned (BLOCK) from a
    stream, on a stream loaded through `selectors.streams_for_user`."""
    if stream.viewer_is_blocked:
        raise InsufficientPermissions("You are banned from this live stream.")


# --- Create ------------------------------------------------------------------------


def _invited_guests(*, creator, live_stream_type: str, guest_ids: list[str]) -> list:
    if live_stream_type == LiveStreamType.SOLO:
        if guest_ids:
            raise ValidationFailed.field("guests", "A solo stream takes no guests.")
        return []
    if not guest_ids:
        raise ValidationFailed.field("guests", "A duo stream needs at least one guest.")
    if len(guest_ids) > settings.LIVESTREAM_MAX_GUESTS:
        raise ValidationFailed.field(
            "guests", f"At most {settings.LIVESTREAM_MAX_GUESTS} guests can be invited."
        )
    if len(set(guest_ids)) != len(guest_ids):
        raise ValidationFailed.field("guests", "A guest is listed more than once.")
    if creator.pk in guest_ids:
        raise ValidationFailed.field("guests", "The creator cannot be their own guest.")
    found = {u.pk: u for u in User.objects.filter(pk__in=guest_ids, is_active=True)}
    missing = [gid for gid in guest_ids if gid not in found]
    if missing:
        raise ValidationFailed(*(f"guests: No active user has the id {gid}." for gid in missing))
    return [found[gid] for gid in guest_ids]


def _insert_with_unique_channel_name(stream: LiveStream) -> None:
    """Insert the stream under a fresh channel name, drawing again on a clash."""
    for _attempt in range(CHANNEL_NAME_ATTEMPTS):
        stream.channel_name = new_channel_name(stream.title)
        try:
            with transaction.atomic():
                stream.save(force_insert=True)
            return
        except IntegrityError:
            if LiveStream.objects.filter(channel_name=stream.channel_name).exists():
                continue
            if (
                LiveStream.objects.visible()
                .filter(creator_id=stream.creator_id, status__in=OPEN_STATUSES)
                .exists()
            ):
                raise Conflict(
                    "You already have a live stream that is preparing or active."
                ) from None
            raise
    raise Conflict("Could not find a free channel name for this title; try again.")


def livestream_create(
    *,
    creator,
    title: str,
    live_stream_type: str = LiveStreamType.SOLO,
    guests: list[str] | tuple = (),
    thumbnail: ProcessedImage | None = None,
    price: Decimal | None = None,
    interest: str | None = None,
    duration_goal: int | None = None,
    motivation: str | None = None,
    planned_start_date: datetime | None = None,
    planned_end_date: datetime | None = None,
    funding_goal: Decimal | None = None,
    recording: bool = False,
    is_active_replay_on_creator_profile: bool | None = None,
    replay_credit_price: Decimal | None = None,
) -> LiveStream:
    now = timezone.now()
    validate_price("price", price)
    validate_price("replayCreditPrice", replay_credit_price)
    validate_price("fundingGoal", funding_goal, maximum=settings.LIVESTREAM_MAX_FUNDING_GOAL)
    if planned_start_date and planned_end_date and planned_end_date <= planned_start_date:
        raise ValidationFailed.field("plannedEndDate", "Must be after plannedStartDate.")
    if planned_end_date and not planned_start_date and planned_end_date <= now:
        raise ValidationFailed.field("plannedEndDate", "Must be in the future.")
    guest_users = _invited_guests(
        creator=creator, live_stream_type=live_stream_type, guest_ids=list(guests)
    )

    stream = LiveStream(
        id=new_object_id(),
        creator=creator,
        title=title,
        live_stream_type=live_stream_type,
        status=(
            LiveStreamStatus.SCHEDULED
            if planned_start_date and planned_start_date > now
            else LiveStreamStatus.PREPARING
        ),
        price=price if price else None,
        interest=interest or None,
        duration_goal=duration_goal,
        motivation=motivation or None,
        planned_start_date=planned_start_date,
        planned_end_date=planned_end_date,
        funding_goal=funding_goal,
        recording=recording,
        is_active_replay_on_creator_profile=is_active_replay_on_creator_profile,
        replay_credit_price=replay_credit_price,
        created_at=now,
    )
    encoded = thumbnail.encode() if thumbnail is not None else None  # CPU work before the locks

    with StoredFiles() as files, transaction.atomic():
        # One create at a time per creator, so the open-stream rule cannot be raced;
        # the partial unique constraint stays as the last word.
        User.objects.select_for_update().filter(pk=creator.pk).values_list("pk").first()
        if LiveStream.objects.visible().filter(creator=creator, status__in=OPEN_STATUSES).exists():
            raise Conflict("You already have a live stream that is preparing or active.")
        if encoded is not None:
            stream.thumbnail = files.save(f"thumbnails/{stream.id}.{thumbnail.extension}", encoded)
        _insert_with_unique_channel_name(stream)
        Guest.objects.bulk_create(
            Guest(live_stream=stream, user=user, position=index, created_at=now)
            for index, user in enumerate(guest_users)
        )
        return prepare_for_viewer([stream], creator, now)[0]


# --- Join as a broadcaster --------------------------------------------------------


def livestream_join_as_creator(*, user, live_stream_id: str) -> JoinResult:
    """The creator goes live: a scheduled or preparing stream becomes active; joining
    again while active only issues fresh credentials."""
    now = timezone.now()
    with transaction.atomic():
        stream = (
            streams_for_user(user).select_for_update(of=("self",)).filter(pk=live_stream_id).first()
        )
        if stream is None or (stream.is_removed and stream.creator_id != user.pk):
            raise NotFound("No live stream has this id.")
        if stream.creator_id != user.pk:
            raise InsufficientPermissions(
                "Only the creator of this live stream can join as creator."
            )
        refuse_blocked(stream)
        if stream.is_removed:
            raise Conflict("This live stream was removed by a moderator.")
        if stream.status not in JOINABLE_STATUSES:
            raise Conflict(f"This live stream is {stream.status} and cannot be joined.")
        if stream.status != LiveStreamStatus.ACTIVE:
            stream.status = LiveStreamStatus.ACTIVE
            stream.started_at = now
            stream.host_joined_at = now
            stream.host_present = True
            stream.save(
                update_fields=[
                    "status",
                    "started_at",
                    "host_joined_at",
                    "host_present",
                    "updated_at",
                ]
            )
        elif not stream.host_present:  # back after leaving the channel
            stream.host_present = True
            stream.save(update_fields=["host_present", "updated_at"])
        credentials = agora.issue_credentials(
            channel_name=stream.channel_name, user=user, role=agora.HOST, now=now
        )
        return JoinResult(prepare_for_viewer([stream], user, now)[0], credentials)


def livestream_join_as_guest(*, user, live_stream_id: str) -> JoinResult:
    """An invited guest joins a duo stream as a second broadcaster."""
    now = timezone.now()
    with transaction.atomic():
        # Locked so that a guest cannot slip in while the stream is being ended.
        stream = _stream_for(user, live_stream_id, lock=True)
        guest = Guest.objects.select_for_update().filter(live_stream=stream, user=user).first()
        if guest is None:
            raise InsufficientPermissions(
                "Only an invited guest of this live stream can join as guest."
            )
        refuse_blocked(stream)
        if stream.status not in JOINABLE_STATUSES:
            raise Conflict(f"This live stream is {stream.status} and cannot be joined.")
        if not guest.has_joined:
            guest.uid = user.agora_uid
            guest.has_joined = True
            guest.joined_at = now
            guest.save(update_fields=["uid", "has_joined", "joined_at"])
        credentials = agora.issue_credentials(
            channel_name=stream.channel_name, user=user, role=agora.HOST, now=now
        )
        return JoinResult(prepare_for_viewer([stream], user, now)[0], credentials)


# --- Audience ----------------------------------------------------------------------


def is_moderator(user) -> bool:
    """Moderators hold `livestreams.moderate_livestream` (superusers hold everything)."""
    return user.is_active and user.has_perm("livestreams.moderate_livestream")


def _stream_for(user, live_stream_id: str, *, lock: bool = False) -> LiveStream:
    streams = streams_for_user(user).visible()
    if lock:
        streams = streams.select_for_update(of=("self",))
    stream = streams.filter(pk=live_stream_id).first()
    if stream is None:
        raise NotFound("No live stream has this id.")
    return stream


def _revenue_recipients(stream: LiveStream) -> list[tuple[str, Decimal]]:
    """Who earns from a charge on `stream`, and their share of it (spec §4)."""
    if stream.live_stream_type == LiveStreamType.SOLO:
        return [(stream.creator_id, settings.REVENUE_SHARE_SOLO_CREATOR)]
    guest_ids = list(
        Guest.objects.filter(live_stream=stream)
        .order_by("position")
        .values_list("user_id", flat=True)
    )
    if not guest_ids:
        return [(stream.creator_id, settings.REVENUE_SHARE_DUO_CREATOR)]
    each = settings.REVENUE_SHARE_DUO_GUESTS / len(guest_ids)
    return [(stream.creator_id, settings.REVENUE_SHARE_DUO_CREATOR)] + [
        (g, each) for g in guest_ids
    ]


def _charge_with_revenue(
    *, payer, stream, price: Decimal, kinds: tuple[str, str], recipients, pending_until=None
):
    """Debit `price` from the payer (409 if they cannot afford it) and credit each
    recipient their share, rounded down to the cent; the platform keeps the rest.
    The shares are `pending` until `pending_until` when it is given."""
    charge_kind, revenue_kind = kinds
    charge = credit_post(user_id=payer.pk, amount=-price, kind=charge_kind, live_stream=stream)
    for user_id, share in recipients:
        amount = (price * share).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        if amount > 0:
            credit_post(
                user_id=user_id,
                amount=amount,
                kind=revenue_kind,
                live_stream=stream,
                related=charge,
                pending_until=pending_until,
            )
    return charge


def _client_details(device: dict, ip_address: str | None) -> dict:
    fields = ("device_type", "device_model", "os_version", "app_version", "country")
    details = {name: (device.get(name) or "")[:100] for name in fields}
    details["ip_address"] = ip_address
    return details


def livestream_join_as_audience(
    *, user, live_stream_id: str, device: dict | None = None, ip_address: str | None = None
) -> JoinResult:
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


def _join_as_audience_once(*, user, live_stream_id, device, ip_address) -> JoinResult:
    now = timezone.now()
    with transaction.atomic():
        stream = _stream_for(user, live_stream_id)
        if stream.creator_id == user.pk or stream.viewer_is_guest:
            raise InsufficientPermissions(
                "Broadcasters join with join-as-creator or join-as-guest."
            )
        refuse_blocked(stream)
        if stream.status != LiveStreamStatus.ACTIVE:
            raise Conflict(
                f"This live stream is {stream.status}; only an active stream can be watched."
            )
        details = _client_details(device, ip_address)
        recipients = None
        if stream.access_type == "paid" and not stream.viewer_is_participant:
            # A first paid join: lock the payer (and payees) before reading the
            # Participant row, so that this user's concurrent first joins are decided
            # one at a time and the later ones see the row (and the charge) of the first.
            recipients = _revenue_recipients(stream)
            lock_users([user.pk, *(uid for uid, _share in recipients)])
        participant = None
        if stream.viewer_is_participant or recipients is not None:
            # A rejoin, or a first paid join re-checking under the user's lock. A
            # first free join goes straight to the insert: a concurrent first join
            # of the same user makes it fail on the unique row, and it is retried.
            participant = (
                Participant.objects.select_for_update()
                .filter(live_stream=stream, user=user)
                .first()
            )
        if participant is None:
            charge = None
            if stream.access_type == "paid":
                recipients = recipients or _revenue_recipients(stream)
                charge = _charge_with_revenue(
                    payer=user,
                    stream=stream,
                    price=stream.price,
                    kinds=(TransactionKind.STREAM_CHARGE, TransactionKind.STREAM_REVENUE),
                    recipients=recipients,
                )
            Participant.objects.create(
                live_stream=stream,
                user=user,
                first_joined_at=now,
                last_joined_at=now,
                charge=charge,
                **details,
            )
        else:
            if participant.is_present:
                participant.watch_seconds += _seconds_between(participant.last_joined_at, now)
            participant.is_present = True
            participant.last_joined_at = now
            participant.join_count += 1
            changed = ["is_present", "last_joined_at", "join_count", "watch_seconds"]
            for name, value in details.items():
                if value:
                    setattr(participant, name, value)
                    changed.append(name)
            participant.save(update_fields=changed)
        stream.viewer_is_participant = True
        credentials = agora.issue_credentials(
            channel_name=stream.channel_name, user=user, role=agora.AUDIENCE, now=now
        )
        return JoinResult(prepare_for_viewer([stream], user, now)[0], credentials)


def _seconds_between(start, end) -> int:
    return max(0, int((end - start).total_seconds()))


def livestream_renew_token(*, user, live_stream_id: str) -> dict:
    """Fresh credentials for the caller's current role, after every check of the
    original join is made again."""
    now = timezone.now()
    stream = _stream_for(user, live_stream_id)
    role = role_in_stream(stream, user)
    if role is None:
        raise InsufficientPermissions("You have not joined this live stream.")
    refuse_blocked(stream)
    allowed = JOINABLE_STATUSES if role == ROLE_GUEST else (LiveStreamStatus.ACTIVE,)
    if stream.status not in allowed:
        raise Conflict(f"This live stream is {stream.status}; no new token is issued.")
    return agora.issue_credentials(
        channel_name=stream.channel_name,
        user=user,
        role=agora.AUDIENCE if role == ROLE_AUDIENCE else agora.HOST,
        now=now,
    )


def livestream_leave(*, user, live_stream_id: str) -> dict:
    """Record that the caller left the channel (broadcaster state, watch time)."""
    now = timezone.now()
    with transaction.atomic():
        stream = _stream_for(user, live_stream_id)
        role = role_in_stream(stream, user)
        watch_seconds = None
        if role == ROLE_HOST:
            LiveStream.objects.filter(pk=stream.pk).update(host_present=False, updated_at=now)
        elif role == ROLE_GUEST:
            Guest.objects.filter(live_stream=stream, user=user).update(has_joined=False)
        elif role == ROLE_AUDIENCE:
            participant = (
                Participant.objects.select_for_update().filter(live_stream=stream, user=user).get()
            )
            if participant.mark_left(now):
                participant.save(update_fields=Participant.LEAVE_FIELDS)
            watch_seconds = participant.watch_seconds
        else:
            raise InsufficientPermissions("You have not joined this live stream.")
    return {"liveStreamId": stream.pk, "role": role, "watchSeconds": watch_seconds}


# --- The creator's and the moderators' actions ----------------------------------------


def _stream_to_manage(actor, live_stream_id: str, *, guests_may: bool = False) -> LiveStream:
    """The stream, locked, if `actor` is its creator or a moderator (or, with
    `guests_may`, one of its invited guests)."""
    stream = _stream_for(actor, live_stream_id, lock=True)
    ensure_can_manage(actor, stream, guests_may=guests_may)
    return stream


def ensure_can_manage(actor, stream: LiveStream, *, guests_may: bool = False) -> None:
    """The creator and the moderators manage a stream (and, where `guests_may`,
    its invited guests: a stream from `streams_for_user`)."""
    if stream.creator_id == actor.pk or is_moderator(actor):
        return
    if guests_may and stream.viewer_is_guest:
        return
    raise InsufficientPermissions(
        "Only the creator of this live stream or a moderator can do this."
    )


def participants_leave(present, when) -> None:
    """Every participant in `present` (a queryset) leaves at `when`, in batches."""
    batch = []
    for participant in present.only("pk", "is_present", "last_joined_at", "watch_seconds").iterator(
        chunk_size=2000
    ):
        if participant.mark_left(when):
            batch.append(participant)
        if len(batch) >= 2000:
            Participant.objects.bulk_update(batch, Participant.LEAVE_FIELDS)
            batch = []
    if batch:
        Participant.objects.bulk_update(batch, Participant.LEAVE_FIELDS)


def _audience_leaves(stream: LiveStream, now) -> None:
    """Everyone still watching leaves with the stream; their watch time is kept."""
    participants_leave(Participant.objects.filter(live_stream=stream, is_present=True), now)
    Guest.objects.filter(live_stream=stream).update(has_joined=False)


def _end(stream: LiveStream, now) -> None:
    stream.status = LiveStreamStatus.ENDED
    stream.ended_at = now
    stream.host_present = False
    stream.save(update_fields=["status", "ended_at", "host_present", "updated_at"])
    _audience_leaves(stream, now)
    agora_rest.schedule_end_kick(live_stream=stream)  # everyone out of the channel, on commit


def livestream_end(*, actor, live_stream_id: str, reason: str = "") -> LiveStream:
    """The creator or a moderator ends an active stream."""
    now = timezone.now()
    with transaction.atomic():
        stream = _stream_to_manage(actor, live_stream_id)
        if stream.status != LiveStreamStatus.ACTIVE:
            raise Conflict(
                f"This live stream is {stream.status}; only an active stream can be ended."
            )
        _end(stream, now)
        audit_record(
            actor=actor,
            action="end",
            target=stream,
            reason=reason,
            changes={"status": (LiveStreamStatus.ACTIVE, stream.status)},
        )
        return prepare_for_viewer([stream], actor, now)[0]


def _refund_contributions(stream: LiveStream) -> int:
    """Give every completed contribution back to its contributor. Returns how many."""
    contributions = list(
        Contribution.objects.select_for_update()
        .select_related("transaction")
        .filter(live_stream=stream, status=ContributionStatus.COMPLETED)
        .order_by("pk")
    )
    if not contributions:
        return 0
    lock_users(c.user_id for c in contributions)
    now = timezone.now()
    for contribution in contributions:
        refund = credit_post(
            user_id=contribution.user_id,
            amount=contribution.amount,
            kind=TransactionKind.STREAM_FUNDING_REFUND,
            live_stream=stream,
            related=contribution.transaction,
            reason="The funded live stream did not take place.",
        )
        contribution.transaction.status = TransactionStatus.REFUNDED
        contribution.transaction.save(update_fields=["status"])
        contribution.status = ContributionStatus.REFUNDED
        contribution.refund_transaction = refund
        contribution.refunded_at = now
        contribution.save(update_fields=["status", "refund_transaction", "refunded_at"])
    LiveStream.objects.filter(pk=stream.pk).update(collected_funding=Decimal("0.00"))
    stream.collected_funding = Decimal("0.00")
    return len(contributions)


def livestream_cancel(*, actor, live_stream_id: str, reason: str = "") -> LiveStream:
    """Cancel before the start: `cancelled_by_host` for the creator (or a
    moderator), `cancelled_by_guest` for an invited guest; funding is refunded."""
    now = timezone.now()
    with transaction.atomic():
        stream = _stream_to_manage(actor, live_stream_id, guests_may=True)
        if stream.status not in (LiveStreamStatus.SCHEDULED, LiveStreamStatus.PREPARING):
            raise Conflict(
                f"This live stream is {stream.status}; only one not yet started can be cancelled."
            )
        by_guest = stream.viewer_is_guest and stream.creator_id != actor.pk
        new_status = (
            LiveStreamStatus.CANCELLED_BY_GUEST if by_guest else LiveStreamStatus.CANCELLED_BY_HOST
        )
        old_status = stream.status
        stream.status = new_status
        stream.save(update_fields=["status", "updated_at"])
        refunded = _refund_contributions(stream)
        audit_record(
            actor=actor,
            action="cancel",
            target=stream,
            reason=reason,
            changes={"status": (old_status, new_status), "refundedContributions": (0, refunded)},
        )
        return prepare_for_viewer([stream], actor, now)[0]


def livestream_remove(*, actor, live_stream_id: str, reason: str = "") -> None:
    """Soft-delete a stream. Its creator may not while it is active; a moderator
    removing an active stream ends it first. Funding of a stream that will now
    not take place is refunded."""
    now = timezone.now()
    with transaction.atomic():
        stream = _stream_to_manage(actor, live_stream_id)
        moderating = stream.creator_id != actor.pk
        if stream.status == LiveStreamStatus.ACTIVE:
            if not moderating:
                raise Conflict("An active live stream cannot be deleted; end it first.")
            _end(stream, now)
        if stream.status in (LiveStreamStatus.SCHEDULED, LiveStreamStatus.PREPARING):
            _refund_contributions(stream)
        stream.deleted_at = now
        stream.deleted_by = actor
        stream.deletion_reason = reason or (
            "Removed by a moderator." if moderating else "Deleted by its creator."
        )
        # The row stays for the moderators; the uploaded thumbnail goes (once the
        # removal has committed), and a restored stream shows the default one.
        delete_files_on_commit([stream.thumbnail])
        stream.thumbnail = ""
        stream.save(
            update_fields=["deleted_at", "deleted_by", "deletion_reason", "thumbnail", "updated_at"]
        )
        audit_record(
            actor=actor,
            action="remove",
            target=stream,
            reason=stream.deletion_reason,
            changes={"deletedAt": (None, now)},
        )


def livestream_restore(*, actor, live_stream_id: str, reason: str = "") -> LiveStream:
    """A moderator brings back a removed stream (as it was when removed: an
    ended or refunded stream stays so)."""
    if not is_moderator(actor):
        raise InsufficientPermissions("Only a moderator can restore a live stream.")
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().filter(pk=live_stream_id).first()
        if stream is None:
            raise NotFound("No live stream has this id.")
        if not stream.is_removed:
            raise Conflict("This live stream is not removed.")
        removed_at = stream.deleted_at
        stream.deleted_at = None
        stream.deleted_by = None
        stream.deletion_reason = ""
        try:
            with transaction.atomic():
                stream.save(
                    update_fields=["deleted_at", "deleted_by", "deletion_reason", "updated_at"]
                )
        except IntegrityError:
            raise Conflict(
                "Its creator has another live stream preparing or active; end that one first."
            ) from None
        audit_record(
            actor=actor,
            action="restore",
            target=stream,
            reason=reason,
            changes={"deletedAt": (removed_at, None)},
        )
    return stream


# What a superuser may edit on a stream in the back office (the rest is owned by
# the server or changed only through the lifecycle actions).
ADMIN_EDITABLE_FIELDS = {
    "title",
    "live_stream_type",
    "interest",
    "motivation",
    "planned_start_date",
    "planned_end_date",
    "duration_goal",
    "funding_goal",
    "recording",
    "is_active_replay_on_creator_profile",
}


def livestream_admin_update(
    *, actor, live_stream_id: str, changes: dict, reason: str = ""
) -> LiveStream:
    """A superuser's edit of a stream's content in the back office, audited."""
    if not (actor.is_active and actor.has_perm("livestreams.change_livestream")):
        raise InsufficientPermissions("You may not edit live streams.")
    unknown = set(changes) - ADMIN_EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed(
            *(f"{name}: This field cannot be edited." for name in sorted(unknown))
        )
    if "funding_goal" in changes:
        validate_price(
            "fundingGoal", changes["funding_goal"], maximum=settings.LIVESTREAM_MAX_FUNDING_GOAL
        )
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().filter(pk=live_stream_id).first()
        if stream is None:
            raise NotFound("No live stream has this id.")
        old = {name: getattr(stream, name) for name in changes}
        for name, value in changes.items():
            setattr(stream, name, value)
        start, end = stream.planned_start_date, stream.planned_end_date
        if start and end and end <= start:
            raise ValidationFailed.field("plannedEndDate", "Must be after plannedStartDate.")
        stream.save(update_fields=[*changes, "updated_at"])
        audit_record(
            actor=actor,
            action="edit",
            target=stream,
            reason=reason,
            changes={name: (old[name], value) for name, value in changes.items()},
        )
    return stream


UNCHANGED = object()


def livestream_set_prices(
    *, actor, live_stream_id: str, price=UNCHANGED, replay_credit_price=UNCHANGED, reason: str = ""
) -> LiveStream:
    """A moderator's price change (the back office), validated by the same rules as
    the API; `accessType` follows the price."""
    if not (actor.is_active and actor.has_perm("livestreams.change_livestream_price")):
        raise InsufficientPermissions("You may not change live stream prices.")
    changes = {}
    if price is not UNCHANGED:
        validate_price("price", price)
        changes["price"] = price if price else None
    if replay_credit_price is not UNCHANGED:
        validate_price("replayCreditPrice", replay_credit_price)
        changes["replay_credit_price"] = replay_credit_price
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().filter(pk=live_stream_id).first()
        if stream is None:
            raise NotFound("No live stream has this id.")
        old = {name: getattr(stream, name) for name in changes}
        if all(old[name] == value for name, value in changes.items()):
            return stream
        for name, value in changes.items():
            setattr(stream, name, value)
        stream.save(update_fields=[*changes, "updated_at"])
        audit_record(
            actor=actor,
            action="change_price",
            target=stream,
            reason=reason,
            changes={name: (old[name], value) for name, value in changes.items()},
        )
    return stream


def livestream_update_replay_settings(*, actor, live_stream_id: str, **changes) -> LiveStream:
    """The creator turns the replay on their profile on or off and sets its price."""
    now = timezone.now()
    allowed = {"is_active_replay_on_creator_profile", "replay_credit_price"}
    if not changes or set(changes) - allowed:
        raise ValidationFailed("Send isActiveReplayOnCreatorProfile and/or replayCreditPrice.")
    if "replay_credit_price" in changes:
        validate_price("replayCreditPrice", changes["replay_credit_price"])
    with transaction.atomic():
        stream = _stream_for(actor, live_stream_id, lock=True)
        if stream.creator_id != actor.pk:
            raise InsufficientPermissions(
                "Only the creator of this live stream can change its replay."
            )
        for name, value in changes.items():
            setattr(stream, name, value)
        stream.save(update_fields=[*changes, "updated_at"])
        return prepare_for_viewer([stream], actor, now)[0]


# --- Funding ----------------------------------------------------------------------


def livestream_fund(
    *, user, live_stream_id: str, amount: Decimal
) -> tuple[Contribution, LiveStream]:
    """A contribution to a scheduled stream's funding goal, debited from the
    caller's credits."""
    now = timezone.now()
    if amount is None or amount <= 0:
        raise ValidationFailed.field("amount", "Must be greater than zero.")
    validate_price("amount", amount, maximum=settings.LIVESTREAM_MAX_FUNDING_GOAL)
    with transaction.atomic():
        # The stream row first, then the user's: the same order as cancel and expire.
        stream = _stream_for(user, live_stream_id, lock=True)
        if stream.creator_id == user.pk:
            raise InsufficientPermissions("A creator cannot fund their own live stream.")
        refuse_blocked(stream)
        if stream.status != LiveStreamStatus.SCHEDULED or not stream.funding_goal:
            raise Conflict("Only a scheduled live stream with a funding goal can be funded.")
        entry = credit_post(
            user_id=user.pk,
            amount=-amount,
            kind=TransactionKind.STREAM_FUNDING_CONTRIBUTION,
            live_stream=stream,
        )
        contribution = Contribution.objects.create(
            live_stream=stream, user=user, amount=amount, transaction=entry, created_at=now
        )
        LiveStream.objects.filter(pk=stream.pk).update(
            collected_funding=F("collected_funding") + amount, updated_at=now
        )
        stream.refresh_from_db(fields=["collected_funding", "updated_at"])
        return contribution, prepare_for_viewer([stream], user, now)[0]


# --- Replays ----------------------------------------------------------------------


def replay_rent(*, user, live_stream_id: str) -> LiveStream:
    """Rent a replay for 24 h (spec §4). Renting again while the rental is active
    charges nothing; an expired rental is re-activated. Revenue is paid out when
    the window has closed (`settle_replay_revenue`)."""
    now = timezone.now()
    with transaction.atomic():
        stream = _stream_for(user, live_stream_id)
        if stream.creator_id == user.pk or stream.viewer_is_guest:
            raise Conflict("The creator and the guests of a live stream watch its replay free.")
        if not stream_is_rentable(stream):
            raise Conflict("This live stream's replay cannot be rented.")
        lock_users([user.pk])  # one rental decision at a time per user
        rental = (
            ReplayAccess.objects.select_for_update().filter(live_stream=stream, user=user).first()
        )
        if rental is None or rental.expires_at <= now:
            expires = now + timedelta(hours=settings.REPLAY_RENTAL_HOURS)
            _charge_with_revenue(
                payer=user,
                stream=stream,
                price=stream.replay_credit_price,
                kinds=(TransactionKind.REPLAY_RENTAL, TransactionKind.REPLAY_REVENUE),
                recipients=_revenue_recipients(stream),
                pending_until=expires,
            )
            if rental is None:
                rental = ReplayAccess(live_stream=stream, user=user)
            rental.price = stream.replay_credit_price
            rental.rented_at = now
            rental.expires_at = expires
            rental.save()
        return prepare_for_viewer([stream], user, now)[0]


# --- Bans -------------------------------------------------------------------------


def ban_create(
    *, actor, live_stream_id: str, target_user_id: str, action_type: str, reason: str = ""
) -> LiveStreamBan:
    """Ban a user from a stream. A BLOCK takes effect at once: the user leaves the
    audience and the broadcasters, and the next join or renew is refused."""
    now = timezone.now()
    with transaction.atomic():
        stream = _stream_to_manage(actor, live_stream_id)
        target = User.objects.filter(pk=target_user_id).first()
        if target is None:
            raise NotFound("No user has this id.")
        if target.pk == stream.creator_id:
            raise ValidationFailed.field(
                "targetUserId", "The creator cannot be banned from their own live stream."
            )
        if target.pk == actor.pk:
            raise ValidationFailed.field("targetUserId", "You cannot ban yourself.")
        if LiveStreamBan.objects.in_force().filter(live_stream=stream, user=target).exists():
            raise Conflict(
                "This user is already banned from this live stream; lift that ban first."
            )
        try:
            with transaction.atomic():
                ban = LiveStreamBan.objects.create(
                    live_stream=stream,
                    user=target,
                    action_type=action_type,
                    reason=reason,
                    created_by=actor,
                    created_at=now,
                )
        except IntegrityError:
            raise Conflict("This user is already banned from this live stream.") from None
        audit_record(
            actor=actor,
            action="ban",
            target=stream,
            reason=reason,
            changes={"bannedUser": (None, target.pk), "actionType": (None, action_type)},
        )
        if action_type == BanAction.BLOCK:
            for participant in Participant.objects.select_for_update().filter(
                live_stream=stream, user=target, is_present=True
            ):
                participant.mark_left(now)
                participant.save(update_fields=Participant.LEAVE_FIELDS)
            Guest.objects.filter(live_stream=stream, user=target).update(has_joined=False)
            agora_rest.schedule_ban_kick(live_stream=stream, user=target)  # sent on commit
    return ban


def ban_lift(*, actor, ban_id: str, reason: str = "") -> LiveStreamBan:
    """Lift a ban (a soft delete: the row stays, with who lifted it and when)."""
    with transaction.atomic():
        ban = (
            LiveStreamBan.objects.select_for_update(of=("self",))
            .select_related("live_stream")
            .filter(pk=ban_id, live_stream__deleted_at__isnull=True)
            .first()
        )
        if ban is None:
            raise NotFound("No ban has this id.")
        if ban.live_stream.creator_id != actor.pk and not is_moderator(actor):
            raise InsufficientPermissions(
                "Only the creator of this live stream or a moderator can do this."
            )
        if ban.lifted_at is not None:
            raise Conflict("This ban has already been lifted.")
        ban.lifted_at = timezone.now()
        ban.lifted_by = actor
        ban.save(update_fields=["lifted_at", "lifted_by"])
        audit_record(
            actor=actor,
            action="unban",
            target=ban.live_stream,
            reason=reason,
            changes={"bannedUser": (ban.user_id, None)},
        )
    return ban


# --- Staff commands ---------------------------------------------------------------


def livestream_expire(*, live_stream_id: str, now=None) -> bool:
    """Expire one scheduled stream nobody started once its start plus the grace
    period has passed, refunding its funding. False if it no longer qualifies."""
    now = now or timezone.now()
    deadline = now - timedelta(minutes=settings.LIVESTREAM_START_GRACE_MINUTES)
    with transaction.atomic():
        stream = (
            LiveStream.objects.select_for_update(skip_locked=True)
            .filter(
                pk=live_stream_id,
                status=LiveStreamStatus.SCHEDULED,
                planned_start_date__lt=deadline,
            )
            .first()
        )
        if stream is None:
            return False
        stream.status = LiveStreamStatus.EXPIRED
        stream.save(update_fields=["status", "updated_at"])
        _refund_contributions(stream)
    return True


def livestream_end_overdue(*, live_stream_id: str, now=None) -> bool:
    """End one active stream long past its planned end. False if it no longer qualifies."""
    now = now or timezone.now()
    with transaction.atomic():
        stream = (
            LiveStream.objects.select_for_update(skip_locked=True)
            .filter(overdue_streams_filter(now), pk=live_stream_id)
            .first()
        )
        if stream is None:
            return False
        _end(stream, now)
    return True


# --- Agora Notification Center events ----------------------------------------------
# (The Agora models are imported where used: this section was appended to the module.)

AGORA_CHANNEL_CREATED = 101
AGORA_CHANNEL_DESTROYED = 102
AGORA_BROADCASTER_JOINED = 103
AGORA_BROADCASTER_LEFT = 104
AGORA_AUDIENCE_JOINED = 105
AGORA_AUDIENCE_LEFT = 106
AGORA_BECAME_BROADCASTER = 111
AGORA_BECAME_AUDIENCE = 112
AGORA_CHANNEL_EVENTS = frozenset({AGORA_CHANNEL_CREATED, AGORA_CHANNEL_DESTROYED})
AGORA_USER_EVENTS = frozenset(
    {
        AGORA_BROADCASTER_JOINED,
        AGORA_BROADCASTER_LEFT,
        AGORA_AUDIENCE_JOINED,
        AGORA_AUDIENCE_LEFT,
        AGORA_BECAME_BROADCASTER,
        AGORA_BECAME_AUDIENCE,
    }
)
# Agora's product id of RTC channel events (other products share the NCS URL).
AGORA_RTC_PRODUCT = 1
# The outcome of a notice seen before (it is not stored again).
AGORA_DUPLICATE = "duplicate"
# An event's `ts` is in whole seconds and clocks drift: an event is taken to have
# happened before one of our own changes only when it did by more than this.
AGORA_EVENT_SLACK = timedelta(seconds=2)


def agora_notice_apply(
    *,
    notice_id: str,
    event_type: int,
    payload: dict,
    product_id: int | None = None,
    notify_ms: int | None = None,
    channel_name: str = "",
    uid: int | None = None,
    client_seq: int | None = None,
    occurred_at: datetime | None = None,
) -> str:
    """Apply one notice of Agora's Notification Center, once per `notice_id`: the
    broadcasters' and the audience's presence follow the channel's events, a user's
    events in the order of their `clientSeq`. Returns the outcome recorded with the
    notice, or AGORA_DUPLICATE for a notice seen before (which changes nothing)."""
    from livestreams.models import AgoraNotice

    now = timezone.now()
    occurred_at = min(occurred_at, now) if occurred_at else now
    with transaction.atomic():
        if AgoraNotice.objects.filter(notice_id=notice_id).exists():
            return AGORA_DUPLICATE
        notice = AgoraNotice(
            notice_id=notice_id,
            product_id=product_id,
            event_type=event_type,
            notify_ms=notify_ms,
            channel_name=channel_name,
            uid=uid,
            client_seq=client_seq,
            occurred_at=occurred_at,
            payload=payload,
            received_at=now,
        )
        try:
            with transaction.atomic():
                notice.save(force_insert=True)
        except IntegrityError:
            return AGORA_DUPLICATE  # the same notice delivered twice at once
        notice.outcome = _agora_notice_effect(notice)
        notice.save(update_fields=["outcome"])
    return notice.outcome


def _agora_notice_effect(notice) -> str:
    from livestreams.models import AgoraNotice, AgoraNoticeOutcome

    event = notice.event_type
    known = AGORA_CHANNEL_EVENTS | AGORA_USER_EVENTS
    if notice.product_id not in (None, AGORA_RTC_PRODUCT) or event not in known:
        return AgoraNoticeOutcome.UNKNOWN_EVENT
    stream = LiveStream.objects.filter(channel_name=notice.channel_name).first()
    if stream is None:
        return AgoraNoticeOutcome.UNKNOWN_CHANNEL
    if event == AGORA_CHANNEL_CREATED:
        return AgoraNoticeOutcome.RECORDED
    if event == AGORA_CHANNEL_DESTROYED:
        return _agora_channel_destroyed(stream, notice)

    user = User.objects.filter(agora_uid=notice.uid).only("pk", "agora_uid").first()
    if user is None:
        return AgoraNoticeOutcome.UNKNOWN_USER
    if not _agora_sequence_advance(notice.channel_name, notice.uid, notice.client_seq):
        return AgoraNoticeOutcome.STALE
    broadcasting = event in (AGORA_BROADCASTER_JOINED, AGORA_BECAME_BROADCASTER)
    watching = event in (AGORA_AUDIENCE_JOINED, AGORA_BECAME_AUDIENCE)
    when = notice.occurred_at
    if (broadcasting or watching) and (
        AgoraNotice.objects.filter(
            channel_name=notice.channel_name,
            event_type=AGORA_CHANNEL_DESTROYED,
            occurred_at__gt=when + AGORA_EVENT_SLACK,
        ).exists()
    ):
        return AgoraNoticeOutcome.STALE  # a join from before the channel was destroyed
    if stream.creator_id == user.pk or Guest.objects.filter(live_stream=stream, user=user).exists():
        return _agora_broadcaster_presence(stream.pk, user, broadcasting, when)
    return _agora_audience_presence(stream, user, watching, when)


def _agora_sequence_advance(channel_name: str, uid: int, client_seq: int) -> bool:
    """Record `client_seq` as the last applied one of `uid` in the channel; False
    (nothing recorded) if an event as new or newer was applied already."""
    from livestreams.models import AgoraClientSequence

    rows = AgoraClientSequence.objects.select_for_update()
    last = rows.filter(channel_name=channel_name, uid=uid).first()
    if last is None:
        try:
            with transaction.atomic():
                AgoraClientSequence.objects.create(
                    channel_name=channel_name, uid=uid, client_seq=client_seq
                )
            return True
        except IntegrityError:  # the user's other event, recorded at the same moment
            last = rows.get(channel_name=channel_name, uid=uid)
    if client_seq <= last.client_seq:
        return False
    last.client_seq = client_seq
    last.save(update_fields=["client_seq", "updated_at"])
    return True


def _agora_broadcaster_presence(stream_id: str, user, broadcasting: bool, when) -> str:
    """The creator's `host_present` or a guest's `hasJoined` follows whether they
    broadcast in the channel."""
    from livestreams.models import AgoraNoticeOutcome

    # The stream row first, then the guest's: the order of join-as-guest.
    stream = LiveStream.objects.select_for_update().get(pk=stream_id)
    is_host = stream.creator_id == user.pk
    guest = (
        None
        if is_host
        else Guest.objects.select_for_update().filter(live_stream=stream, user=user).first()
    )
    if not is_host and guest is None:  # uninvited in the meantime
        return AgoraNoticeOutcome.NOT_IN_STREAM
    if broadcasting:
        open_statuses = (LiveStreamStatus.ACTIVE,) if is_host else JOINABLE_STATUSES
        if stream.is_removed or stream.status not in open_statuses:
            return AgoraNoticeOutcome.STREAM_NOT_LIVE
        if not is_host and user_is_blocked(user=user, stream=stream):
            return AgoraNoticeOutcome.BANNED
    if is_host and stream.host_present != broadcasting:
        stream.host_present = broadcasting
        if broadcasting and stream.host_joined_at is None:
            stream.host_joined_at = when
        stream.save(update_fields=["host_present", "host_joined_at", "updated_at"])
    elif guest is not None and guest.has_joined != broadcasting:
        guest.has_joined = broadcasting
        if broadcasting:
            guest.uid = user.agora_uid
            guest.joined_at = when
        guest.save(update_fields=["has_joined", "uid", "joined_at"])
    return AgoraNoticeOutcome.APPLIED


def _agora_audience_presence(stream: LiveStream, user, watching: bool, when) -> str:
    """An audience member's presence and watch time follow whether they are in the
    channel as audience. Only a user who joined through the API has a row."""
    from livestreams.models import AgoraNoticeOutcome

    participant = (
        Participant.objects.select_for_update().filter(live_stream=stream, user=user).first()
    )
    if participant is None:
        return AgoraNoticeOutcome.NOT_IN_STREAM
    if watching:
        if stream.is_removed or stream.status != LiveStreamStatus.ACTIVE:
            return AgoraNoticeOutcome.STREAM_NOT_LIVE
        if user_is_blocked(user=user, stream=stream):
            return AgoraNoticeOutcome.BANNED
        if participant.left_at and when + AGORA_EVENT_SLACK < participant.left_at:
            return AgoraNoticeOutcome.STALE  # from before a leave through the API
        if not participant.is_present:
            participant.is_present = True
            participant.last_joined_at = max(when, participant.left_at or when)
            participant.save(update_fields=["is_present", "last_joined_at"])
    else:
        if when + AGORA_EVENT_SLACK < participant.last_joined_at:
            return AgoraNoticeOutcome.STALE  # from before a join through the API
        if participant.mark_left(when):
            participant.save(update_fields=Participant.LEAVE_FIELDS)
    return AgoraNoticeOutcome.APPLIED


def _agora_channel_destroyed(stream: LiveStream, notice) -> str:
    """Everyone left the channel: no broadcaster and no audience member is present
    (those who joined after the channel was destroyed excepted)."""
    from livestreams.models import AgoraNotice, AgoraNoticeOutcome

    when = notice.occurred_at
    if AgoraNotice.objects.filter(
        channel_name=notice.channel_name,
        event_type=AGORA_CHANNEL_CREATED,
        occurred_at__gt=when,
    ).exists():
        return AgoraNoticeOutcome.STALE  # the channel was created again since
    stream = LiveStream.objects.select_for_update().get(pk=stream.pk)
    if stream.host_present:
        stream.host_present = False
        stream.save(update_fields=["host_present", "updated_at"])
    Guest.objects.filter(live_stream=stream, has_joined=True).update(has_joined=False)
    participants_leave(
        Participant.objects.filter(
            live_stream=stream, is_present=True, last_joined_at__lte=when + AGORA_EVENT_SLACK
        ),
        when,
    )
    return AgoraNoticeOutcome.APPLIED
