from allmine.core.commands import StaffCommand
from livestreams.services.viewers import viewer_count_recount, viewer_counts_drifted


class Command(StaffCommand):
    help = (
        "Compare every stream's kept viewer count with the audience present now and "
        "repair the ones that drifted (what the recount_viewers task does every "
        "VIEWER_RECOUNT_SECONDS)."
    )

    def run(self, *, dry_run: bool, **options) -> str:
        drifted = viewer_counts_drifted()
        if dry_run:
            for pk, (kept, present) in sorted(drifted.items()):
                self.stdout.write(f"{pk}: kept {kept}, present {present}")
            return f"{len(drifted)} stream(s) whose viewer count drifted."
        repaired = 0
        for pk in self.progress(sorted(drifted), total=len(drifted), what="streams"):
            repaired += viewer_count_recount(live_stream_id=pk)
        return f"{len(drifted)} stream(s) checked, {repaired} viewer count(s) repaired."
