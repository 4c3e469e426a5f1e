"""Writes for live streams: creating them and letting broadcasters in (spec §3).

Every rule of the contract about these operations is written here once; the
views, the admin and the management commands all call these functions.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from allmine.exceptions import Conflict, InsufficientPermissions, NotFound, ValidationFailed
from allmine.ids import new_object_id
from allmine.images import ProcessedImage
from allmine.media import StoredFiles
from livestreams import agora
from livestreams.channels import new_channel_name
from livestreams.models import (
    JOINABLE_STATUSES,
    OPEN_STATUSES,
    Guest,
    LiveStream,
    LiveStreamStatus,
    LiveStreamType,
)
from livestreams.selectors import prepare_for_viewer, streams_with_creator, user_is_blocked

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


def ensure_not_blocked(*, user, stream: LiveStream) -> None:
    """The one place the join paths refuse a user banned (BLOCK) from a stream."""
    if user_is_blocked(user=user, stream=stream):
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
            streams_with_creator().select_for_update(of=("self",)).filter(pk=live_stream_id).first()
        )
        if stream is None or (stream.is_removed and stream.creator_id != user.pk):
            raise NotFound("No live stream has this id.")
        if stream.creator_id != user.pk:
            raise InsufficientPermissions(
                "Only the creator of this live stream can join as creator."
            )
        ensure_not_blocked(user=user, stream=stream)
        if stream.is_removed:
            raise Conflict("This live stream was removed by a moderator.")
        if stream.status not in JOINABLE_STATUSES:
            raise Conflict(f"This live stream is {stream.status} and cannot be joined.")
        if stream.status != LiveStreamStatus.ACTIVE:
            stream.status = LiveStreamStatus.ACTIVE
            stream.started_at = now
            stream.host_joined_at = now
            stream.save(update_fields=["status", "started_at", "host_joined_at", "updated_at"])
    credentials = agora.issue_credentials(
        channel_name=stream.channel_name, user=user, role=agora.HOST, now=now
    )
    return JoinResult(prepare_for_viewer([stream], user, now)[0], credentials)


def livestream_join_as_guest(*, user, live_stream_id: str) -> JoinResult:
    """An invited guest joins a duo stream as a second broadcaster."""
    now = timezone.now()
    with transaction.atomic():
        stream = streams_with_creator().visible().filter(pk=live_stream_id).first()
        if stream is None:
            raise NotFound("No live stream has this id.")
        guest = Guest.objects.select_for_update().filter(live_stream=stream, user=user).first()
        if guest is None:
            raise InsufficientPermissions(
                "Only an invited guest of this live stream can join as guest."
            )
        ensure_not_blocked(user=user, stream=stream)
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
