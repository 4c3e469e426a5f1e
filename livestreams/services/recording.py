"""A stream's recording: what makes its replay exist.

A stream created with `recording: true` is recorded by Agora Cloud Recording
(`agora.recording`, composite mode) into our own object storage:

1. the creator goes live: a `Recording` is started (acquire + start);
2. while it runs it is checked now and then (query); should Agora end it early
   (the host away longer than AGORA_RECORDING_MAX_IDLE_SECONDS, a failure) and
   the host be live, another one starts;
3. the stream ends, expires or is removed: the recording is stopped;
4. the files are uploaded (stop's answer, or the Notification Center's
   cloud-recording events): the stream's `recordingUrl` is set to the public URL
   of the playable file (HLS, or MP4 where configured).

Each step is one claimed attempt by a background task (`tasks.agora.
recording_run`), retried with backoff by the sweep; a recording that cannot be
started or stopped after MAX_ATTEMPTS is `failed`, with its last error, in the
back office. This module never enqueues a task: it returns the ids to work on.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, new_agora_uid
from allmine.core.errors import Conflict, NotFound
from livestreams.agora import notices as ncs
from livestreams.agora import recording as agora_recording
from livestreams.agora import tokens
from livestreams.agora.recording import RecordedFile
from livestreams.agora.rest import AgoraRestError
from livestreams.lifecycle import Role, may_be_in_channel
from livestreams.models import (
    ACTIVE_RECORDING_STATUSES,
    LiveStream,
    Recording,
    RecordingStatus,
)

logger = logging.getLogger("allmine.agora")

S = RecordingStatus
MAX_ATTEMPTS = 10
MAX_BACKOFF = timedelta(hours=1)
# Agora's query statuses of a recording that has ended (exited, exited abnormally).
EXITED_STATUSES = frozenset({8, 20})
UPLOADED = frozenset({"uploaded", "backuped"})


@dataclass(frozen=True)
class RunOutcome:
    """What one attempt did (`name`), and a recording to work on right away
    (`follow_up`: this one to stop now, or a new one to start)."""

    name: str
    follow_up: int | None = None


SKIPPED = RunOutcome("skipped")


def _unclaimed(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def _lease() -> timedelta:
    return timedelta(seconds=3 * settings.AGORA_RECORDING_TIMEOUT + 30)


def backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(minutes=2 ** max(0, attempts - 1)))


def _is_live(stream: LiveStream) -> bool:
    return not stream.is_removed and may_be_in_channel(Role.HOST, stream.status)


def _token_ttl() -> int:
    """A recorder cannot renew its token: it lasts as long as a stream may
    (Agora's limit: 24 hours)."""
    longest = (
        settings.LIVESTREAM_MAX_DURATION_HOURS * 3600
        + settings.LIVESTREAM_OVERDUE_GRACE_MINUTES * 60
        + 3600
    )
    return min(86400, int(longest))


def _recorder_uid() -> int:
    """A uid for the recorder that no user has (Agora: it must differ from
    every uid in the channel)."""
    while True:
        uid = new_agora_uid()
        if not User.objects.filter(agora_uid=uid).exists():
            return uid


# --- Asked for by the stream's lifecycle (inside its transaction) ------------------


def recording_begin(*, stream: LiveStream) -> Recording | None:
    """The creator is live: start recording a recorded stream, unless a
    recording of it is already starting or running. None when nothing is to be
    done (not recorded, Cloud Recording not configured, one running). The caller
    enqueues `recording_run` after the commit."""
    if not stream.recording or not agora_recording.is_configured():
        return None
    if Recording.objects.filter(live_stream=stream, status__in=(S.STARTING, S.RECORDING)).exists():
        return None
    try:
        with transaction.atomic():
            return Recording.objects.create(
                live_stream=stream, channel_name=stream.channel_name, uid=_recorder_uid()
            )
    except IntegrityError:  # another go-live of the same stream won the race
        return None


def recordings_end(*, stream: LiveStream, now: datetime | None = None) -> list[int]:
    """The stream ended, expired or was removed: its recordings stop. The ids the
    caller enqueues after the commit. A start being made right now is left to
    its worker, which sees the stop request when it records its outcome."""
    now = now or timezone.now()
    active = Recording.objects.filter(live_stream=stream, status__in=(S.STARTING, S.RECORDING))
    active.filter(stop_requested_at__isnull=True).update(stop_requested_at=now, updated_at=now)
    active.filter(status=S.RECORDING).update(
        status=S.STOPPING, attempts=0, next_attempt_at=now, last_error="", updated_at=now
    )
    active.filter(_unclaimed(now), status=S.STARTING).update(
        status=S.CANCELLED, claimed_until=None, updated_at=now
    )
    return list(
        Recording.objects.filter(live_stream=stream, status=S.STOPPING).values_list("pk", flat=True)
    )


def recordings_due(now: datetime | None = None) -> QuerySet[Recording]:
    """Recordings the sweep should work on now."""
    now = now or timezone.now()
    return Recording.objects.filter(
        _unclaimed(now), status__in=ACTIVE_RECORDING_STATUSES, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")


# --- The background work -------------------------------------------------------------


def recording_run(*, recording_id: int) -> RunOutcome:
    """One attempt at what a recording needs now (start, check, stop, wait for
    the upload). Never raises for a failure of Agora's API: it is recorded and
    retried later. Safe to run twice and from several workers (claimed first)."""
    now = timezone.now()
    claimed = Recording.objects.filter(
        _unclaimed(now),
        pk=recording_id,
        status__in=ACTIVE_RECORDING_STATUSES,
        next_attempt_at__lte=now,
    ).update(claimed_until=now + _lease(), attempts=F("attempts") + 1)
    if not claimed:
        return SKIPPED
    rec = Recording.objects.select_related("live_stream").get(pk=recording_id)
    if rec.status == S.STARTING:
        return _start(rec)
    if rec.status == S.RECORDING:
        return _check(rec)
    if rec.status == S.STOPPING:
        return _stop(rec)
    return _await_upload(rec)


def _update(rec: Recording, *, only_if: Q | None = None, **fields: Any) -> bool:
    fields.setdefault("claimed_until", None)
    fields["updated_at"] = timezone.now()
    rows = Recording.objects.filter(pk=rec.pk)
    if only_if is not None:
        rows = rows.filter(only_if)
    return bool(rows.update(**fields))


def _failure(rec: Recording, exc: AgoraRestError, doing: str, **fields: Any) -> RunOutcome:
    logger.warning("Recording %s: %s failed (attempt %s): %s", rec.pk, doing, rec.attempts, exc)
    error = f"{doing} failed: {exc}"[:1000]
    unchanged = Q(status=rec.status)
    if rec.attempts >= MAX_ATTEMPTS and rec.status in (S.STARTING, S.STOPPING):
        gave_up = f"Gave up after {rec.attempts} attempts. {error}"
        if _update(rec, only_if=unchanged, status=S.FAILED, last_error=gave_up[:1000]):
            return RunOutcome("failed")
    elif _update(
        rec,
        only_if=unchanged,
        last_error=error,
        next_attempt_at=timezone.now() + backoff(rec.attempts),
        **fields,
    ):
        return RunOutcome("retry")
    return _changed_meanwhile(rec)


def _changed_meanwhile(rec: Recording) -> RunOutcome:
    """The stream ended while this attempt ran (a running recording is now to be
    stopped): release the claim and go on at once."""
    _update(rec)
    return RunOutcome("changed", follow_up=rec.pk)


def _start(rec: Recording) -> RunOutcome:
    now = timezone.now()
    stream = rec.live_stream
    if rec.stop_requested_at is not None or not _is_live(stream):
        _update(rec, status=S.CANCELLED, stop_requested_at=rec.stop_requested_at or now)
        return RunOutcome("cancelled")
    try:
        fresh = rec.resource_acquired_at and now - rec.resource_acquired_at < timedelta(
            seconds=agora_recording.RESOURCE_VALID_SECONDS
        )
        if not (rec.resource_id and fresh):
            rec.resource_id = agora_recording.acquire(channel_name=rec.channel_name, uid=rec.uid)
            rec.resource_acquired_at = now
            _update(
                rec,
                resource_id=rec.resource_id,
                resource_acquired_at=now,
                claimed_until=rec.claimed_until,
            )
        token = tokens.rtc_token(
            channel_name=rec.channel_name,
            uid=rec.uid,
            role=tokens.AUDIENCE,
            now=now,
            ttl=_token_ttl(),
        )
        sid = agora_recording.start(
            resource_id=rec.resource_id,
            channel_name=rec.channel_name,
            uid=rec.uid,
            token=token,
            live_stream_id=stream.pk,
        )
    except AgoraRestError as exc:
        # The next attempt starts afresh: a new resource, and a new uid (should the
        # unanswered start have put a recorder in the channel after all).
        return _failure(rec, exc, "Starting", resource_id="", uid=_recorder_uid())
    done = _update(
        rec,
        only_if=Q(stop_requested_at__isnull=True),
        status=S.RECORDING,
        sid=sid,
        started_at=now,
        attempts=0,
        last_error="",
        next_attempt_at=now + timedelta(seconds=settings.AGORA_RECORDING_CHECK_SECONDS),
    )
    if done:
        return RunOutcome("started")
    # The stream ended while the recording was starting: stop it right away.
    _update(rec, status=S.STOPPING, sid=sid, started_at=now, attempts=0, next_attempt_at=now)
    return RunOutcome("started", follow_up=rec.pk)


def _check(rec: Recording) -> RunOutcome:
    now = timezone.now()
    if rec.stop_requested_at is not None or not _is_live(rec.live_stream):
        # The stream is over (a stop that was never asked for): stop it now.
        _update(
            rec,
            status=S.STOPPING,
            stop_requested_at=rec.stop_requested_at or now,
            attempts=0,
            next_attempt_at=now,
        )
        return RunOutcome("stopping", follow_up=rec.pk)
    try:
        state = agora_recording.query(resource_id=rec.resource_id, sid=rec.sid)
    except AgoraRestError as exc:
        if exc.not_found:
            return _exited(rec, "Agora no longer records it (query: 404).")
        return _failure(rec, exc, "Checking")
    files = _merged(rec, state.files)
    if state.status in EXITED_STATUSES:
        rec.files = files
        return _exited(rec, f"Agora's status {state.status}: the recording exited.")
    checked = _update(
        rec,
        only_if=Q(status=S.RECORDING),
        files=files,
        confirmed_at=rec.confirmed_at or (now if files else None),
        attempts=0,
        last_error="",
        next_attempt_at=now + timedelta(seconds=settings.AGORA_RECORDING_CHECK_SECONDS),
    )
    return RunOutcome("recording") if checked else _changed_meanwhile(rec)


def _exited(rec: Recording, why: str) -> RunOutcome:
    """Agora ended the recording on its own while the stream was live: keep what
    was recorded, and start another one if the host is on air."""
    now = timezone.now()
    running = Q(status=S.RECORDING)
    if not (
        _make_ready(rec, rec.files, only_if=running, note=why)
        or _update(
            rec,
            only_if=running,
            status=S.UPLOADING,
            stopped_at=now,
            last_error=why,
            next_attempt_at=now,
        )
    ):
        return _changed_meanwhile(rec)
    stream = LiveStream.objects.get(pk=rec.live_stream_id)
    if _is_live(stream) and stream.host_present:
        following = recording_begin(stream=stream)
        if following is not None:
            return RunOutcome("exited", follow_up=following.pk)
    return RunOutcome("exited")


def _stop(rec: Recording) -> RunOutcome:
    now = timezone.now()
    if not rec.sid:
        _update(rec, status=S.CANCELLED)
        return RunOutcome("cancelled")
    try:
        result = agora_recording.stop(
            resource_id=rec.resource_id, sid=rec.sid, channel_name=rec.channel_name, uid=rec.uid
        )
    except AgoraRestError as exc:
        if not exc.not_found:
            return _failure(rec, exc, "Stopping")
        # Agora had ended it already (idle, or an earlier stop whose answer was
        # lost): what it reported before, or its upload notice, tells the files.
        result = agora_recording.StopResult(uploading_status="unknown", files=())
    files = _merged(rec, result.files)
    if _playable(files) and (result.uploading_status in UPLOADED or rec.confirmed_at):
        _make_ready(rec, files, only_if=Q(status=S.STOPPING))
        return RunOutcome("ready")
    _update(
        rec,
        only_if=Q(status=S.STOPPING),
        status=S.UPLOADING,
        files=files,
        stopped_at=now,
        attempts=0,
        last_error="",
        next_attempt_at=now + timedelta(minutes=settings.AGORA_RECORDING_UPLOAD_WAIT_MINUTES),
    )
    return RunOutcome("uploading")


def _await_upload(rec: Recording) -> RunOutcome:
    now = timezone.now()
    wait = timedelta(minutes=settings.AGORA_RECORDING_UPLOAD_WAIT_MINUTES)
    stopped = rec.stopped_at or now
    if now - stopped < wait:
        _update(rec, next_attempt_at=stopped + wait)
        return RunOutcome("uploading")
    _update(
        rec,
        status=S.FAILED,
        last_error=(
            f"Agora did not confirm the upload of the files within {wait}. {rec.last_error}"
        ).strip()[:1000],
    )
    return RunOutcome("failed")


# --- Files, URLs, and what Agora's notices say ---------------------------------------


def _files(rec: Recording) -> list[RecordedFile]:
    return [RecordedFile(**item) for item in rec.files if isinstance(item, dict)]


def _merged(rec: Recording, new: tuple[RecordedFile, ...]) -> list[dict[str, Any]]:
    known = {f.basename: f for f in _files(rec)}
    for item in new:
        known[item.basename] = item
    return [
        {"name": f.name, "track_type": f.track_type, "playable": f.playable} for f in known.values()
    ]


def _playable(files: list[dict[str, Any]]) -> RecordedFile | None:
    return agora_recording.playable_file(
        [RecordedFile(**item) for item in files if isinstance(item, dict)]
    )


def _make_ready(
    rec: Recording, files: list[dict[str, Any]], *, only_if: Q | None = None, note: str = ""
) -> bool:
    """The recording's files are in our storage: the stream's replay plays them."""
    playable = _playable(files)
    if playable is None:
        return False
    now = timezone.now()
    url = agora_recording.public_url(rec.live_stream_id, playable)
    with transaction.atomic():
        done = _update(
            rec,
            only_if=only_if,
            status=S.READY,
            files=files,
            url=url,
            stopped_at=rec.stopped_at or now,
            ready_at=now,
            last_error=note,
        )
        if done:
            _publish_replay(rec.live_stream_id)
    return done


def _publish_replay(live_stream_id: str) -> None:
    """The stream's `recordingUrl` is the longest of its ready recordings."""
    stream = LiveStream.objects.select_for_update().filter(pk=live_stream_id).first()
    if stream is None or not stream.recording:
        return
    ready = list(Recording.objects.filter(live_stream_id=live_stream_id, status=S.READY))
    if not ready:
        return

    def length(rec: Recording) -> timedelta:
        start = rec.started_at or rec.created_at
        return (rec.stopped_at or rec.ready_at or start) - start

    best = max(ready, key=lambda r: (length(r), -r.pk))
    if stream.recording_url != best.url:
        stream.recording_url = best.url
        stream.save(update_fields=["recording_url", "updated_at"])


def recording_notice(
    *, sid: str, event_type: int, details: dict[str, Any]
) -> tuple[bool, int | None]:
    """Apply a Cloud Recording notice of the Notification Center: (whether a
    recording has this sid, a recording to work on right away)."""
    rec = Recording.objects.filter(sid=sid).first()
    if rec is None:
        return False, None
    now = timezone.now()
    files = agora_recording.parse_file_list(details.get("fileList"))
    if event_type in (ncs.RECORDING_UPLOADED, ncs.RECORDING_BACKUPED):
        merged = _merged(rec, files)
        if rec.status != S.READY and _playable(merged):
            _make_ready(rec, merged, only_if=~Q(status=S.READY))
        return True, None
    if event_type == ncs.RECORDING_FILE_INFOS and files:
        Recording.objects.filter(pk=rec.pk).update(
            files=_merged(rec, files), confirmed_at=rec.confirmed_at or now, updated_at=now
        )
        return True, None
    if rec.status == S.RECORDING and (
        event_type == ncs.RECORDING_SESSION_EXIT
        or (event_type == ncs.RECORDING_ERROR and details.get("errorLevel") == 5)
    ):
        message = details.get("errorMsg") or details.get("msgName") or f"event {event_type}"
        Recording.objects.filter(pk=rec.pk).update(
            next_attempt_at=now, last_error=f"Agora: {message}"[:1000], updated_at=now
        )
        return True, rec.pk  # checked now: restarted if the stream is still live
    return True, None


def livestream_recording_ready(*, live_stream_id: str, url: str) -> LiveStream:
    """The recording of a recorded stream is stored and playable at `url` (an
    absolute URL): from now on its replay can be watched and, once the creator
    offers it, rented. (Set by hand, for example for the demo data; Cloud
    Recording sets it by itself.)"""
    with transaction.atomic():
        stream: LiveStream | None = (
            LiveStream.objects.select_for_update().filter(pk=live_stream_id).first()
        )
        if stream is None:
            raise NotFound(_("No live stream has this id."))
        if not stream.recording:
            raise Conflict(_("This live stream is not recorded."))
        stream.recording_url = url
        stream.save(update_fields=["recording_url", "updated_at"])
    return stream
