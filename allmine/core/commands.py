"""What every staff command shares: `--dry-run`, a progress bar, a summary, and a
lock so that two runs from cron at the same moment never overlap."""

import fcntl
import hashlib
import sys
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from tqdm import tqdm


@contextmanager
def single_run(name: str):
    """Yield True if this process holds the lock named `name`, False if another
    run holds it. PostgreSQL advisory locks hold across machines; elsewhere a
    file lock holds on this machine."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            acquired = cursor.fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    lock_dir = settings.VAR_DIR / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class StaffCommand(BaseCommand):
    """A staff command: subclasses implement `run(dry_run=..., **options)` and
    return the summary line."""

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be done; change nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        with single_run(self.lock_name()) as acquired:
            if not acquired:
                self.stdout.write("Another run of this command is in progress; nothing done.")
                return
            summary = self.run(dry_run=dry_run, **options)
        prefix = "[dry run] " if dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{prefix}{summary}"))

    def lock_name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]

    def progress(self, items, *, total: int | None = None, what: str = "items"):
        """A progress bar on stderr (hidden when stderr is not a terminal)."""
        return tqdm(
            items, total=total, unit=f" {what}", file=sys.stderr, disable=not sys.stderr.isatty()
        )

    def run(self, *, dry_run: bool, **options) -> str:
        raise NotImplementedError
