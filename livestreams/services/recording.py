"""A stream's recording: what makes its replay exist."""

from django.db import transaction

from allmine.core.errors import Conflict, NotFound
from livestreams.models import LiveStream


def livestream_recording_ready(*, live_stream_id: str, url: str) -> LiveStream:
    """The recording of a recorded stream is stored and playable at `url` (an
    absolute URL): from now on its replay can be watched and, once the creator
    offers it, rented."""
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().filter(pk=live_stream_id).first()
        if stream is None:
            raise NotFound("No live stream has this id.")
        if not stream.recording:
            raise Conflict("This live stream is not recorded.")
        stream.recording_url = url
        stream.save(update_fields=["recording_url", "updated_at"])
    return stream
