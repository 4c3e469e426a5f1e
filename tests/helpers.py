"""What many tests need besides rows (for rows, see tests/factories.py; for the
envelope, tests/api.py): the ledger invariant, a snapshot of the whole world to
show that something changed nothing, the audit trail of an object, a signed-in
browser for the admin and the data a page's form posts back."""

import importlib
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import quote

from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Sum
from django.test import Client

from accounts.models import CreditTransaction, TransactionStatus, User
from accounts.services.credits import credits_grant
from allmine.core.models import AuditEntry

CREDITS_REASON = "Test credits."
# The entries that moved a balance: pending ones do not count yet.
BALANCE_STATUSES = (TransactionStatus.COMPLETED, TransactionStatus.REFUNDED)
# Every table of ours (not the refresh tokens: issuing one for a test is no change
# of the world).
WORLD_APPS = ("allmine", "accounts", "livestreams")


# --- Credits ------------------------------------------------------------------------


def grant(user: User, amount) -> CreditTransaction:
    """Give an existing user `amount` credits through the ledger; the entry.
    (A new user with credits: `UserFactory(credits=...)`.)"""
    return credits_grant(user=user, amount=Decimal(str(amount)), reason=CREDITS_REASON).entry


def balance_of(user: User) -> Decimal:
    return User.objects.values_list("credit_balance", flat=True).get(pk=user.pk)


def assert_balances_add_up() -> None:
    """The ledger invariant, for EVERY user: the balance is the sum of the amounts
    of their completed and refunded ledger entries (pending ones do not count
    yet), and it is not negative; every entry that moved a balance recorded a
    non-negative balance_after, and a pending entry none."""
    sums = dict(
        CreditTransaction.objects.filter(status__in=BALANCE_STATUSES)
        .values("user")
        .annotate(total=Sum("amount"))
        .values_list("user", "total")
    )
    users = list(User.objects.values_list("pk", "username", "credit_balance"))
    assert users, "no users: the invariant would hold vacuously"
    for pk, username, balance in users:
        expected = sums.get(pk, Decimal("0.00"))
        assert balance == expected, f"{username}: balance {balance} but the ledger says {expected}"
        assert balance >= 0, f"{username}: negative balance {balance}"
    assert not CreditTransaction.objects.filter(
        status__in=BALANCE_STATUSES, balance_after__isnull=True
    ).exists()
    assert not CreditTransaction.objects.filter(balance_after__lt=0).exists()
    assert not CreditTransaction.objects.filter(
        status=TransactionStatus.PENDING, balance_after__isnull=False
    ).exists()


# --- The world ----------------------------------------------------------------------


def world_models() -> list:
    return [model for label in WORLD_APPS for model in apps.get_app_config(label).get_models()]


def world_snapshot() -> dict[str, list[dict]]:
    """Every row (every column) of every table of ours: compare two snapshots to
    show that a refused request, a read, a dry run or a second run changed nothing."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values()) for model in world_models()
    }


def without_presence(snapshot: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """A world snapshot without the viewers' last sign of life (`last_seen_at`),
    which a token renewal or an Agora event moves (presence, issue 11)."""
    return {
        label: (
            [{k: v for k, v in row.items() if k != "last_seen_at"} for row in rows]
            if label == "livestreams.Participant"
            else rows
        )
        for label, rows in snapshot.items()
    }


# --- The audit trail and the admin ------------------------------------------------------


def audit_of(target, **filters):
    """The audit entries about `target` (a model instance), oldest first."""
    return AuditEntry.objects.filter(
        target_type=target._meta.model_name, target_id=str(target.pk), **filters
    ).order_by("created_at", "pk")


def browser_for(user: User) -> Client:
    """A browser signed in to the admin as `user`."""
    client = Client()
    client.force_login(user)
    return client


# --- Migration data ------------------------------------------------------------------

REPORTS_MIGRATION = importlib.import_module(
    "livestreams.migrations.0008_moderators_see_reports_and_gifts"
)
MODERATORS_MIGRATION = importlib.import_module("livestreams.migrations.0003_moderators_group")
CHAT_MIGRATION = importlib.import_module("livestreams.migrations.0015_moderators_see_chat")


def run_moderators_migration(forwards: bool = True) -> None:
    """Run the data migration's own code against the test database, with the
    historical models it runs with in `migrate`."""
    state = MigrationExecutor(connection).loader.project_state(
        ("livestreams", "0003_moderators_group"), at_end=True
    )
    run = (
        MODERATORS_MIGRATION.create_moderators
        if forwards
        else MODERATORS_MIGRATION.remove_moderators
    )
    run(state.apps, None)


def run_later_moderator_grants() -> None:
    """The later data migrations giving the Moderators group the view permissions
    of the report queue and the gifts, then of the chat."""
    for name, migration in (
        ("0008_moderators_see_reports_and_gifts", REPORTS_MIGRATION),
        ("0015_moderators_see_chat", CHAT_MIGRATION),
    ):
        state = MigrationExecutor(connection).loader.project_state(
            ("livestreams", name), at_end=True
        )
        migration.grant(state.apps, None)


# --- Pages' forms ---------------------------------------------------------------------


class _FormReader(HTMLParser):
    """What a browser would submit from each form of a page, minus the submit
    buttons: text inputs, checked boxes, selected options, textareas."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str | None, dict[str, list[str]]]] = []
        self.data: dict[str, list[str]] | None = None
        self._select = None
        self._textarea = None

    def _add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.data = {}
            self.forms.append((attrs.get("id"), self.data))
        if self.data is None or (not attrs.get("name") and tag != "option"):
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            self._add(attrs["name"], attrs.get("value") or ("on" if kind == "checkbox" else ""))
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self._add(self._select, attrs.get("value", ""))
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self._add(self._textarea, "")

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.data = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            # The newline right after <textarea> is not part of the value.
            self.data[self._textarea][-1] = self.data[self._textarea][-1].removeprefix("\n")
            self._textarea = None


def form_data(response, *, form_id: str | None = None, containing: str | None = None) -> dict:
    """The data of the page's form with this id, or of the one with this field."""
    reader = _FormReader()
    reader.feed(response.content.decode())
    for found_id, data in reader.forms:
        if (form_id and found_id == form_id) or (containing and containing in data):
            return data
    raise AssertionError(f"no such form on the page: {form_id or containing}")


# --- After the commit -----------------------------------------------------------------


def enqueued(callbacks: list) -> list:
    """The on-commit callbacks that hand work over (tasks), without the ones that
    forget cached entries (`livestreams.caching`), which every write adds."""
    from livestreams.caching import forgets

    return [callback for callback in callbacks if not forgets(callback)]


def database_url_of_tests() -> str:
    """A DATABASE_URL for the test database, for a process the test starts (a worker,
    `manage.py`): it reads and writes what the test sees."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
