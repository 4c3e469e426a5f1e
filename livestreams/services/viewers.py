"""The kept viewer counts (ViewerCount, kept by the triggers of migration 0018):
repairing a count that drifted from the audience present (a trigger dropped by
hand, rows changed outside the database's triggers, a restore)."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Sum

from livestreams.models import VIEWER_COUNT_SLOTS, Participant, ViewerCount


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


def _kept_by_stream() -> dict[str, int]:
    """The kept count of every stream that has one other than 0."""
    return dict(
        ViewerCount.objects.order_by()
        .values("live_stream_id")
        .annotate(total=Sum("viewers"))
        .exclude(total=0)
        .values_list("live_stream_id", "total")
    )


def viewer_counts_drifted() -> dict[str, tuple[int, int]]:
    """The streams whose kept count differs from the audience present: id ->
    (kept, present). Two queries, read without locks (a join in flight may show
    as a drift here; `viewer_count_recount` decides under the rows' locks)."""
    present = _present_by_stream()
    kept = _kept_by_stream()
    return {
        pk: (kept.get(pk, 0), present.get(pk, 0))
        for pk in kept.keys() | present.keys()
        if kept.get(pk, 0) != present.get(pk, 0)
    }


@transaction.atomic
def viewer_count_recount(*, live_stream_id: str) -> bool:
    """Set the stream's kept count to the audience present; True if it was wrong.

    Every slot's row is made (if missing) and locked first, then the audience is
    counted in a statement of its own: a join that already moved a slot holds its
    row until it commits (and is then counted); one that has not yet waits for
    this transaction and moves its slot after it. Either way the sum ends exact.
    The count goes into slot 0; the other slots are set to 0."""
    ViewerCount.objects.bulk_create(
        [ViewerCount(live_stream_id=live_stream_id, slot=n) for n in range(VIEWER_COUNT_SLOTS)],
        ignore_conflicts=True,
    )
    mine = ViewerCount.objects.filter(live_stream_id=live_stream_id)
    kept = sum(mine.select_for_update().order_by("slot").values_list("viewers", flat=True))
    present = Participant.objects.filter(live_stream_id=live_stream_id, is_present=True).count()
    if kept == present:
        return False
    mine.filter(slot=0).update(viewers=present)
    mine.exclude(slot=0).update(viewers=0)
    return True


def viewer_counts_repair() -> RecountSummary:
    """Recount, under lock, every stream whose kept count looks wrong."""
    drifted = viewer_counts_drifted()
    summary = RecountSummary(checked=len(drifted))
    for live_stream_id in sorted(drifted):
        if viewer_count_recount(live_stream_id=live_stream_id):
            summary.repaired += 1
    return summary
