"""Creating a live stream (contract §3, POST /live-stream/create)."""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from allmine.core.errors import Conflict, ValidationFailed
from allmine.core.ids import new_object_id
from allmine.core.images import ProcessedImage
from allmine.core.media import StoredFiles
from livestreams.agora.channels import new_channel_name
from livestreams.lifecycle import OPEN_STATUSES, initial_status
from livestreams.models import Guest, LiveStream, LiveStreamType
from livestreams.selectors.viewing import prepare_for_viewer
from livestreams.services.access import validate_planned_date, validate_price

CHANNEL_NAME_ATTEMPTS = 8


def _invited_guests(*, creator: User, live_stream_type: str, guest_ids: list[str]) -> list[User]:
    if live_stream_type == LiveStreamType.SOLO:
        if guest_ids:
            raise ValidationFailed.field("guests", _("A solo stream takes no guests."))
        return []
    if not guest_ids:
        raise ValidationFailed.field("guests", _("A duo stream needs at least one guest."))
    if len(guest_ids) > settings.LIVESTREAM_MAX_GUESTS:
        raise ValidationFailed.field(
            "guests",
            _("At most %(count)s guests can be invited.")
            % {"count": settings.LIVESTREAM_MAX_GUESTS},
        )
    if len(set(guest_ids)) != len(guest_ids):
        raise ValidationFailed.field("guests", _("A guest is listed more than once."))
    if creator.pk in guest_ids:
        raise ValidationFailed.field("guests", _("The creator cannot be their own guest."))
    found = {u.pk: u for u in User.objects.filter(pk__in=guest_ids, is_active=True)}
    missing = [gid for gid in guest_ids if gid not in found]
    if missing:
        raise ValidationFailed(
            *(_("guests: No active user has the id %(id)s.") % {"id": gid} for gid in missing)
        )
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
                    _("You already have a live stream that is preparing or active.")
                ) from None
            raise
    raise Conflict(_("Could not find a free channel name for this title; try again."))


def livestream_create(
    *,
    creator: User,
    title: str,
    live_stream_type: str = LiveStreamType.SOLO,
    guests: list[str] | tuple[str, ...] = (),
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
    validate_planned_date("plannedStartDate", planned_start_date, now=now)
    validate_planned_date("plannedEndDate", planned_end_date, now=now)
    if planned_start_date and planned_end_date and planned_end_date <= planned_start_date:
        raise ValidationFailed.field("plannedEndDate", _("Must be after plannedStartDate."))
    if planned_end_date and not planned_start_date and planned_end_date <= now:
        raise ValidationFailed.field("plannedEndDate", _("Must be in the future."))
    guest_users = _invited_guests(
        creator=creator, live_stream_type=live_stream_type, guest_ids=list(guests)
    )

    stream = LiveStream(
        id=new_object_id(),
        creator=creator,
        title=title,
        live_stream_type=live_stream_type,
        status=initial_status(planned_start_date, now),
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
            raise Conflict(_("You already have a live stream that is preparing or active."))
        if thumbnail is not None and encoded is not None:
            stream.thumbnail = files.save(f"thumbnails/{stream.id}.{thumbnail.extension}", encoded)
        _insert_with_unique_channel_name(stream)
        Guest.objects.bulk_create(
            Guest(live_stream=stream, user=user, position=index, created_at=now)
            for index, user in enumerate(guest_users)
        )
        return prepare_for_viewer([stream], creator, now)[0]
