"""The kept viewer counts (ViewerCount, kept by the triggers of migration 0016):
repairing a count that drifted from the audience present (a trigger dropped by
hand, rows changed outside the database's triggers, a restore)."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count

from livestreams.models import Participant, ViewerCount


@dataclass
class RecountSummary:
    checked: int = 0  # streams whose kept count was compared with a recount
    repaired: int = 0  # of them, counts that were wrong and are now right


def _present_by_stream() -> dict[str, int]:
    return dict(
        Participant.objects.filter(is_present=True)
        .order_by()
        .values("live_stream")
        .annotate(n=Count("pk"))
        .values_list("live_stream", "n")
    )


def viewer_counts_drifted() -> dict[str, tuple[int, int]]:
    """The streams whose kept count differs from the audience present: id ->
    (kept, present). Two queries, read without locks (a join in flight may show
    as a drift here; `viewer_count_recount` decides under the row's lock)."""
    present = _present_by_stream()
    kept = dict(ViewerCount.objects.exclude(viewers=0).values_list("live_stream_id", "viewers"))
    kept.update(
        ViewerCount.objects.filter(pk__in=list(present)).values_list("live_stream_id", "viewers")
    )
    return {
        pk: (kept.get(pk, 0), present.get(pk, 0))
        for pk in kept.keys() | present.keys()
        if kept.get(pk, 0) != present.get(pk, 0)
    }


@transaction.atomic
def viewer_count_recount(*, live_stream_id: str) -> bool:
    """Set the stream's kept count to the audience present; True if it was wrong.

    The count row is locked first, then counted in a statement of its own: a join
    that already moved the count holds the row until it commits (and is then
    counted); one that has not yet waits for this transaction, and moves the
    count after it. Either way the count ends exact."""
    ViewerCount.objects.get_or_create(live_stream_id=live_stream_id)
    row = ViewerCount.objects.select_for_update().get(pk=live_stream_id)
    present = Participant.objects.filter(live_stream_id=live_stream_id, is_present=True).count()
    if row.viewers == present:
        return False
    row.viewers = present
    row.save(update_fields=["viewers"])
    return True


def viewer_counts_repair() -> RecountSummary:
    """Recount, under lock, every stream whose kept count looks wrong."""
    drifted = viewer_counts_drifted()
    summary = RecountSummary(checked=len(drifted))
    for live_stream_id in sorted(drifted):
        if viewer_count_recount(live_stream_id=live_stream_id):
            summary.repaired += 1
    return summary
