"""The User admin (issue 4, "Users"): the list with photo thumbnails and balances,
the read-only balance and ledger on the user page, the audited deactivate,
reactivate and credit-adjustment actions, the read-only ledger admin, and who
may do what (superuser, account administrator, moderator, plain staff)."""

import io
import os
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import (
    CreditTransaction,
    ProfilePhoto,
    TransactionKind,
    TransactionStatus,
    User,
)
from accounts.services.credits import credits_grant
from accounts.services.photos import profile_photo_set
from allmine.core.media import media_url
from allmine.core.models import AuditEntry
from tests.api import assert_envelope, assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import (
    assert_balances_add_up,
    audit_of,
    balance_of,
    browser_for,
    form_data,
)

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"
USERS = reverse("admin:accounts_user_changelist")
LEDGER = reverse("admin:accounts_credittransaction_changelist")
CONFIRMATION_TEMPLATE = "admin/reasoned_action.html"
# Session, the signed-in user, the page of users (with their photos), the
# paginator's count of the (filtered) page and the groups of the "groups" filter.
CHANGELIST_QUERIES = 5
# Session, user, the user with their photo, the user's groups and permissions
# (the form's initial values), the ledger page, the ledger count of the note, all
# groups and permissions (the two pickers), the audit trail.
USER_PAGE_QUERIES = 10
# Session, user, the count of the page, the entries (with users and streams).
LEDGER_LIST_QUERIES = 4
MODERATOR_PERMISSIONS = (
    "accounts.view_user",
    "accounts.view_credittransaction",
    "livestreams.moderate_livestream",
)


# --- People and helpers ---------------------------------------------------------------


@pytest.fixture
def moderator():
    return UserFactory(username="mod", is_staff=True, permissions=MODERATOR_PERMISSIONS)


@pytest.fixture
def account_admin():
    """Staff who may edit accounts but is no superuser."""
    return UserFactory(
        username="accounts",
        is_staff=True,
        permissions=["accounts.view_user", "accounts.change_user"],
    )


@pytest.fixture
def plain_staff():
    return UserFactory(username="staff", is_staff=True)


def _user_url(user: User, view: str = "change") -> str:
    name = "auth_user_password_change" if view == "password" else f"accounts_user_{view}"
    return reverse(f"admin:{name}", args=[user.pk])


def _small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def _sign_in(user: User) -> dict:
    response = APIClient().post(
        LOGIN, {"login": user.username, "password": DEFAULT_PASSWORD}, format="json"
    )
    return assert_envelope(response, 200)


def _run_action(
    client: Client, action: str, users, *, url: str = USERS, select_across: str = "0", **form
) -> tuple:
    """The two steps of an action: the change list's POST (answered with the
    confirmation page), then the confirmation page's POST with the form."""
    selection = {
        "action": action,
        "_selected_action": [u.pk for u in users],
        "select_across": select_across,
    }
    first = client.post(url, {**selection, "index": "0"})
    second = client.post(url, {**selection, "post": "yes", **form}, follow=True)
    return first, second


def _page(response) -> str:
    return response.content.decode()


def _change_form(user: User, ledger_rows: int = 0, **overrides) -> dict:
    """What the user page's form posts back (booleans left out are False)."""
    data = {
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "surname": user.surname,
        "availability_status": user.availability_status,
        "credit_transactions-TOTAL_FORMS": str(ledger_rows),
        "credit_transactions-INITIAL_FORMS": str(ledger_rows),
        "credit_transactions-MIN_NUM_FORMS": "0",
        "credit_transactions-MAX_NUM_FORMS": "0",
        "_save": "Save",
    }
    data.update(overrides)
    return data


# --- The list -------------------------------------------------------------------------


def test_superuser_sees_the_list_with_photo_thumbnails_and_balances(superuser, media_root):
    pictured = UserFactory(username="pictured", name="Ayşe", surname="Yılmaz", credits="12.50")
    photo = profile_photo_set(
        user=pictured, upload=SimpleUploadedFile("me.jpg", _small_jpeg(), "image/jpeg")
    )
    UserFactory(username="faceless")

    response = browser_for(superuser).get(USERS)

    assert response.status_code == 200
    html = _page(response)
    thumb = media_url(photo.variants["40"])
    assert os.path.exists(os.path.join(media_root, photo.variants["40"]))
    assert f'<img src="{thumb}" width="40" height="40"' in html
    assert html.count('class="user-thumbnail"') == 1  # "faceless" shows the dash
    for text in ("pictured", "pictured@example.com", "Ayşe Yılmaz", "12.50", "faceless"):
        assert text in html
    for column in ("column-thumbnail", "column-credit_balance", "column-joined"):
        assert column in html


def test_the_list_searches_by_username_email_name_and_exact_id(superuser):
    ayse = UserFactory(username="ayse", email="ayse@kedi.example", name="Ayşe", surname="Kaya")
    UserFactory(username="mehmet", email="m@kopek.example", name="Mehmet", surname="Demir")
    client = browser_for(superuser)

    for term in ("ayse", "kedi.example", "Ayşe", "kaya", ayse.pk):
        html = _page(client.get(USERS, {"q": term}))
        assert "ayse@kedi.example" in html, term
        assert "m@kopek.example" not in html, term
    # The id matches exactly, not as a part.
    assert "ayse@kedi.example" not in _page(client.get(USERS, {"q": ayse.pk[:-1]}))


def test_the_list_filters_inactive_users(superuser):
    UserFactory(username="gone", is_active=False)
    UserFactory(username="here")

    html = _page(browser_for(superuser).get(USERS, {"is_active__exact": "0"}))

    assert "gone@example.com" in html
    assert "here@example.com" not in html


@pytest.mark.parametrize("users", [5, 50])
def test_the_list_takes_a_fixed_number_of_queries(superuser, users, django_assert_num_queries):
    people = UserFactory.create_batch(users)
    ProfilePhoto.objects.bulk_create(
        ProfilePhoto(user=u, original="x.jpg", variants={"40": f"p/{u.pk}/40.webp"})
        for u in people[::2]
    )
    client = browser_for(superuser)
    client.get(USERS)

    with django_assert_num_queries(CHANGELIST_QUERIES):
        response = client.get(USERS)

    assert response.status_code == 200
    assert _page(response).count('class="user-thumbnail"') == len(people[::2])


# --- The user page: balance and ledger ---------------------------------------------


def _ledger(user: User, entries: int) -> None:
    start = timezone.now()
    CreditTransaction.objects.bulk_create(
        CreditTransaction(
            user=user,
            kind=TransactionKind.ADMIN_ADJUSTMENT,
            status=TransactionStatus.COMPLETED,
            amount=Decimal("1.00"),
            balance_after=Decimal(n + 1),
            reason=f"entry-{n:02d}",
            created_at=start + timezone.timedelta(seconds=n),
            created_by=user,
        )
        for n in range(entries)
    )


def test_the_user_page_shows_the_ledger_and_a_read_only_balance(superuser):
    member = UserFactory(username="member")
    credits_grant(user=member, amount="30", reason="first-grant")
    credits_grant(user=member, amount="-5.25", reason="second-take")

    response = browser_for(superuser).get(_user_url(member))

    assert response.status_code == 200
    html = _page(response)
    assert "Credit ledger" in html
    assert "first-grant" in html and "second-take" in html
    assert html.index("second-take") < html.index("first-grant")  # newest first
    assert "24.75" in html
    assert 'name="credit_balance"' not in html  # shown, not editable
    assert 'name="is_active"' not in html  # changed through the audited actions only
    assert 'name="credit_transactions-0-amount"' not in html
    assert f"{LEDGER}?user={member.pk}" in html


def test_posting_the_user_form_cannot_change_the_balance_or_the_ledger(superuser):
    member = UserFactory(username="member", name="Old", credits="7")
    form = _change_form(
        member,
        ledger_rows=1,
        name="New",
        credit_balance="9999.00",
        is_active="",
        **{"credit_transactions-0-amount": "9999", "credit_transactions-0-DELETE": "on"},
    )

    response = browser_for(superuser).post(_user_url(member), form)

    assert response.status_code == 302, response.content
    member.refresh_from_db()
    assert member.name == "New"
    assert member.credit_balance == Decimal("7.00")
    assert member.is_active is True
    assert list(CreditTransaction.objects.filter(user=member).values_list("amount", flat=True)) == [
        Decimal("7.00")
    ]


def test_the_user_page_lists_the_latest_50_entries_and_links_to_the_rest(superuser):
    member = UserFactory(username="member")
    _ledger(member, 55)
    client = browser_for(superuser)

    html = _page(client.get(_user_url(member)))

    shown = [n for n in range(55) if f"entry-{n:02d}" in html]
    assert shown == list(range(5, 55))
    assert "55 entries; the latest 50 are listed below." in html
    full = client.get(LEDGER, {"user": member.pk})
    assert full.status_code == 200
    assert all(f"entry-{n:02d}" in _page(full) for n in range(55))


@pytest.mark.parametrize("entries", [5, 80])
def test_the_user_page_takes_a_fixed_number_of_queries(
    superuser, entries, django_assert_num_queries
):
    member = UserFactory(username="member")
    _ledger(member, entries)
    client = browser_for(superuser)
    client.get(_user_url(member))  # warms the per-process caches (content types)

    with django_assert_num_queries(USER_PAGE_QUERIES):
        response = client.get(_user_url(member))

    assert response.status_code == 200
    assert _page(response).count("entry-") == min(entries, 50)


@pytest.mark.parametrize("entries", [5, 80])
def test_the_ledger_list_takes_a_fixed_number_of_queries(
    superuser, entries, django_assert_num_queries
):
    for n in range(3):
        member = UserFactory(username=f"member{n}")
        _ledger(member, entries // 3 + 1)
    client = browser_for(superuser)
    client.get(LEDGER)

    with django_assert_num_queries(LEDGER_LIST_QUERIES):
        response = client.get(LEDGER)

    assert response.status_code == 200
    assert all(f"member{n}" in _page(response) for n in range(3))


# --- Deactivate and reactivate ----------------------------------------------------


def test_deactivating_asks_for_a_reason_then_shuts_the_account(superuser):
    member = UserFactory(username="member")
    session = _sign_in(member)
    client = browser_for(superuser)

    first, second = _run_action(client, "deactivate_users", [member], reason="Spam in chat")

    # The first POST only asks.
    assert first.status_code == 200
    assert CONFIRMATION_TEMPLATE in [t.name for t in first.templates]
    html = _page(first)
    assert "member@example.com" in html
    assert 'name="reason"' in html
    assert 'name="action" value="deactivate_users"' in html
    assert 'name="select_across" value="0"' in html
    assert f'name="_selected_action" value="{member.pk}"' in html
    # The second applied it.
    assert second.status_code == 200
    assert "Deactivated 1 user." in _page(second)
    member.refresh_from_db()
    assert member.is_active is False
    entry = audit_of(member).get()
    assert (entry.actor, entry.action, entry.reason) == (superuser, "deactivate", "Spam in chat")
    assert entry.changes == {"is_active": [True, False]}
    # The account can no longer sign in, use its access token or refresh.
    response = APIClient().post(
        LOGIN, {"login": "member", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert_error(response, 401)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {session['accessToken']}")
    assert_error(api.get(ME), 401)
    assert_error(
        APIClient().post(REFRESH, {"refreshToken": session["refreshToken"]}, format="json"), 401
    )
    # ...and its refresh tokens are revoked for good, not just refused while inactive.
    outstanding = OutstandingToken.objects.filter(user=member)
    assert outstanding.count() == 1
    assert BlacklistedToken.objects.filter(token__in=outstanding).count() == 1


def test_deactivating_without_a_reason_changes_nothing(superuser):
    member = UserFactory(username="member")
    client = browser_for(superuser)

    _first, second = _run_action(client, "deactivate_users", [member], reason="   ")

    assert CONFIRMATION_TEMPLATE in [t.name for t in second.templates]
    assert "This field is required." in _page(second)
    member.refresh_from_db()
    assert member.is_active is True
    assert not AuditEntry.objects.exists()


def test_reactivating_opens_the_account_again_but_not_its_old_sessions(superuser):
    member = UserFactory(username="member")
    old_session = _sign_in(member)
    client = browser_for(superuser)
    _run_action(client, "deactivate_users", [member], reason="Abuse")

    first, second = _run_action(client, "reactivate_users", [member], reason="Appeal accepted")

    assert CONFIRMATION_TEMPLATE in [t.name for t in first.templates]
    assert "Reactivated 1 user." in _page(second)
    member.refresh_from_db()
    assert member.is_active is True
    entry = AuditEntry.objects.get(action="reactivate")
    assert (entry.actor, entry.target_id, entry.reason) == (superuser, member.pk, "Appeal accepted")
    assert entry.changes == {"is_active": [False, True]}
    trail = _page(client.get(_user_url(member)))  # the page shows the audit trail
    assert "Abuse" in trail and "Appeal accepted" in trail
    _sign_in(member)
    assert_error(
        APIClient().post(REFRESH, {"refreshToken": old_session["refreshToken"]}, format="json"),
        401,
    )


def test_deactivating_an_inactive_user_or_oneself_is_refused_per_user(superuser):
    gone = UserFactory(username="gone", is_active=False)
    member = UserFactory(username="member")

    _first, second = _run_action(
        browser_for(superuser), "deactivate_users", [gone, member, superuser], reason="Cleanup"
    )

    html = _page(second)
    assert "Not changed for gone: gone is already inactive." in html
    assert "Not changed for root: You cannot deactivate your own account." in html
    assert "Deactivated 1 user." in html
    assert list(AuditEntry.objects.values_list("target_id", flat=True)) == [member.pk]
    assert User.objects.get(pk=superuser.pk).is_active is True


def test_an_action_across_all_filtered_users_reaches_each_of_them(superuser):
    gone = [UserFactory(username=f"gone{n}", is_active=False) for n in range(3)]
    UserFactory(username="here")
    filtered = f"{USERS}?is_active__exact=0"

    first, second = _run_action(
        browser_for(superuser),
        "reactivate_users",
        gone[:1],  # what was ticked on the page; "select all 3" covers the rest
        url=filtered,
        select_across="1",
        reason="Amnesty",
    )

    assert 'name="select_across" value="1"' in _page(first)
    assert all(f"{u.username}@example.com" in _page(first) for u in gone)
    assert "Reactivated 3 users." in _page(second)
    assert User.objects.filter(is_active=False).count() == 0
    assert sorted(AuditEntry.objects.values_list("target_id", flat=True)) == sorted(
        u.pk for u in gone
    )


# --- Credit adjustments -------------------------------------------------------------


def test_a_superuser_adjusts_credits_with_a_reason(superuser):
    member = UserFactory(username="member")
    client = browser_for(superuser)

    first, second = _run_action(
        client, "adjust_credits", [member], amount="10.00", reason="Goodwill"
    )

    assert 'name="amount"' in _page(first)
    assert "Adjusted the credits of 1 user." in _page(second)
    member.refresh_from_db()
    assert member.credit_balance == Decimal("10.00")
    entry = CreditTransaction.objects.get(user=member)
    assert (entry.kind, entry.amount, entry.balance_after, entry.reason, entry.created_by) == (
        TransactionKind.ADMIN_ADJUSTMENT,
        Decimal("10.00"),
        Decimal("10.00"),
        "Goodwill",
        superuser,
    )
    audit = AuditEntry.objects.get(action="adjust_credits")
    assert (audit.actor, audit.target_id, audit.reason) == (superuser, member.pk, "Goodwill")
    assert audit.changes == {"credit_balance": ["0.00", "10.00"]}


def test_a_take_back_below_zero_is_refused_and_writes_nothing(superuser):
    member = UserFactory(username="member", credits="10")
    client = browser_for(superuser)

    _first, second = _run_action(
        client, "adjust_credits", [member], amount="-1000", reason="Take back"
    )

    html = _page(second)
    assert "Not changed for member: Insufficient credits" in html
    assert "Adjusted the credits" not in html
    member.refresh_from_db()
    assert member.credit_balance == Decimal("10.00")
    assert CreditTransaction.objects.filter(user=member).count() == 1
    assert not AuditEntry.objects.exists()


def test_an_amount_with_more_than_two_decimals_is_asked_again(superuser):
    member = UserFactory(username="member")

    _first, second = _run_action(
        browser_for(superuser), "adjust_credits", [member], amount="1.005", reason="x"
    )

    assert CONFIRMATION_TEMPLATE in [t.name for t in second.templates]
    assert not CreditTransaction.objects.exists()


def test_the_same_adjustment_page_submitted_twice_adjusts_each_user_once(superuser):
    """A double click or a resent form: the page's key makes the second
    submission replay the first (`credits_grant`'s idempotency) for every user."""
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob", credits="5")
    client = browser_for(superuser)
    page = client.post(
        USERS,
        {
            "action": "adjust_credits",
            "_selected_action": [alice.pk, bob.pk],
            "select_across": "0",
            "index": "0",
        },
    )
    form = form_data(page, form_id="reasoned-action-form")
    (key,) = form["key"]
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    form.update(amount=["12.50"], reason=["Goodwill"])

    first = client.post(USERS, form, follow=True)
    second = client.post(USERS, form, follow=True)

    assert "Adjusted the credits of 2 users." in _page(first)
    assert "Not changed" not in _page(second)
    assert (balance_of(alice), balance_of(bob)) == (Decimal("12.50"), Decimal("17.50"))
    adjustments = CreditTransaction.objects.filter(reason="Goodwill").order_by("user__username")
    assert [(e.user, e.amount, e.idempotency_key) for e in adjustments] == [
        (alice, Decimal("12.50"), f"admin-{key}-{alice.pk}"),
        (bob, Decimal("12.50"), f"admin-{key}-{bob.pk}"),
    ]
    assert_balances_add_up()

    # A new confirmation page draws a new key: a deliberate second adjustment applies.
    again = form_data(
        client.post(
            USERS,
            {"action": "adjust_credits", "_selected_action": [alice.pk], "index": "0"},
        ),
        form_id="reasoned-action-form",
    )
    assert again["key"] != [key]
    again.update(amount=["1.00"], reason=["Goodwill"])
    client.post(USERS, again, follow=True)
    assert balance_of(alice) == Decimal("13.50")
    assert_balances_add_up()


def test_a_replayed_adjustment_is_neither_audited_nor_reported_again(superuser):
    member = UserFactory(username="member")
    client = browser_for(superuser)
    page = client.post(
        USERS, {"action": "adjust_credits", "_selected_action": [member.pk], "index": "0"}
    )
    form = form_data(page, form_id="reasoned-action-form")
    form.update(amount=["3.00"], reason=["Goodwill"])
    client.post(USERS, form, follow=True)

    second = client.post(USERS, form, follow=True)

    assert balance_of(member) == Decimal("3.00")
    assert audit_of(member, action="adjust_credits").count() == 1
    assert "Adjusted the credits" not in _page(second)
    assert "This page was sent twice: 1 user was adjusted the first time" in _page(second)


# --- Moderators and other staff -----------------------------------------------------


def test_a_moderator_views_users_read_only(moderator):
    member = UserFactory(username="member", name="Old")
    credits_grant(user=member, amount="5", reason="grant")
    client = browser_for(moderator)

    listing = _page(client.get(USERS))
    page = client.get(_user_url(member))

    assert "member@example.com" in listing
    assert page.status_code == 200
    html = _page(page)
    assert "grant" in html  # the ledger
    for field in ("username", "email", "name", "password", "is_superuser", "groups"):
        assert f'name="{field}"' not in html, field
    assert 'name="_save"' not in html
    response = client.post(_user_url(member), _change_form(member, ledger_rows=1, name="New"))
    assert response.status_code == 403
    assert User.objects.get(pk=member.pk).name == "Old"


def test_a_moderator_has_no_delete_and_no_credit_adjustment(moderator):
    member = UserFactory(username="member")
    client = browser_for(moderator)

    html = _page(client.get(USERS))

    assert 'value="deactivate_users"' in html
    assert 'value="reactivate_users"' in html
    assert 'value="adjust_credits"' not in html
    assert 'value="delete_selected"' not in html
    assert client.get(_user_url(member, "delete")).status_code == 403
    _run_action(client, "adjust_credits", [member], amount="50", reason="me")
    assert User.objects.get(pk=member.pk).credit_balance == Decimal("0.00")
    assert not CreditTransaction.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_moderator_may_deactivate_an_abusive_user_but_not_a_superuser(moderator, superuser):
    member = UserFactory(username="member")
    client = browser_for(moderator)

    _first, second = _run_action(client, "deactivate_users", [member, superuser], reason="Abuse")

    html = _page(second)
    assert "Deactivated 1 user." in html
    assert (
        "Not changed for root: Only a superuser may deactivate or reactivate a superuser." in html
    )
    assert User.objects.get(pk=member.pk).is_active is False
    assert User.objects.get(pk=superuser.pk).is_active is True
    assert AuditEntry.objects.get().actor == moderator


def test_an_account_admin_edits_profiles_but_not_privileges(account_admin, superuser):
    member = UserFactory(username="member")
    client = browser_for(account_admin)

    response = client.post(
        _user_url(member),
        _change_form(member, name="Renamed", is_staff="on", is_superuser="on"),
    )

    assert response.status_code == 302, response.content
    member.refresh_from_db()
    assert member.name == "Renamed"
    assert (member.is_staff, member.is_superuser) == (False, False)
    # A superuser's account is not theirs to change or to delete.
    assert 'name="_save"' not in _page(client.get(_user_url(superuser)))
    response = client.post(_user_url(superuser), _change_form(superuser, name="Pwned"))
    assert response.status_code == 403
    assert client.get(_user_url(superuser, "password")).status_code == 403


def test_a_plain_staff_user_sees_nothing(plain_staff):
    client = browser_for(plain_staff)

    assert client.get(USERS).status_code == 403
    assert client.get(LEDGER).status_code == 403
    index = _page(client.get(reverse("admin:index")))
    assert USERS not in index
    assert LEDGER not in index


# Who gets what: every role against every page of the two admins.
ROLES = ("superuser", "moderator", "plain_staff")
MATRIX = [
    # (what, method, url, expected status for superuser, moderator, plain staff)
    ("user list", "get", lambda m, e: USERS, (200, 200, 403)),
    ("user page", "get", lambda m, e: _user_url(m), (200, 200, 403)),
    ("user edit", "post", lambda m, e: _user_url(m), (None, 403, 403)),
    ("user add", "get", lambda m, e: reverse("admin:accounts_user_add"), (200, 403, 403)),
    ("user delete", "get", lambda m, e: _user_url(m, "delete"), (200, 403, 403)),
    ("user password", "get", lambda m, e: _user_url(m, "password"), (200, 403, 403)),
    ("ledger list", "get", lambda m, e: LEDGER, (200, 200, 403)),
    (
        "ledger entry",
        "get",
        lambda m, e: reverse("admin:accounts_credittransaction_change", args=[e.pk]),
        (200, 200, 403),
    ),
    (
        "ledger edit",
        "post",
        lambda m, e: reverse("admin:accounts_credittransaction_change", args=[e.pk]),
        (403, 403, 403),
    ),
    (
        "ledger add",
        "get",
        lambda m, e: reverse("admin:accounts_credittransaction_add"),
        (403, 403, 403),
    ),
    (
        "ledger delete",
        "get",
        lambda m, e: reverse("admin:accounts_credittransaction_delete", args=[e.pk]),
        (403, 403, 403),
    ),
]


@pytest.mark.parametrize(
    ("role", "what", "method", "url", "expected"),
    [
        (role, what, method, url, statuses[index])
        for what, method, url, statuses in MATRIX
        for index, role in enumerate(ROLES)
        if statuses[index] is not None
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_permission_matrix(request, role, what, method, url, expected):
    actor = request.getfixturevalue(role)
    member = UserFactory(username="member")
    entry = credits_grant(user=member, amount="3", reason="grant").entry

    data = {"amount": "999", "name": "Changed"} if method == "post" else {}

    response = getattr(browser_for(actor), method)(url(member, entry), data)

    assert response.status_code == expected, what
    assert CreditTransaction.objects.get().amount == Decimal("3.00")
    assert User.objects.filter(
        pk=member.pk, is_active=True, credit_balance=3, name=member.name
    ).exists()


# --- The user page for a moderator (issue 14) --------------------------------------


def test_a_moderator_is_offered_no_password_reset_but_the_actions_they_may_take(moderator):
    member = UserFactory(username="member")

    html = _page(browser_for(moderator).get(_user_url(member)))

    assert "Reset password" not in html
    assert "../password/" not in html
    assert f'href="/admin/accounts/user/{member.pk}/do/deactivate_users/"' in html
    assert "/do/reactivate_users/" not in html  # the account is active
    assert "/do/adjust_credits/" not in html  # superusers only


def test_a_superuser_has_the_password_and_every_action_on_the_user_page(superuser):
    member = UserFactory(username="member", is_active=False)

    html = _page(browser_for(superuser).get(_user_url(member)))

    assert 'href="../password/"' in html
    assert "/do/reactivate_users/" in html
    assert "/do/adjust_credits/" in html
    assert "/do/deactivate_users/" not in html


def test_deactivating_from_the_user_page_comes_back_to_it(moderator):
    member = UserFactory(username="member")
    client = browser_for(moderator)
    url = reverse("admin:accounts_user_do", args=[member.pk, "deactivate_users"])

    page = client.get(url)
    assert "member (member@example.com)" in _page(page)
    response = client.post(url, {"post": "yes", "reason": "Spam bot"})

    assert response["Location"] == _user_url(member)
    followed = client.get(response["Location"])
    assert [str(m) for m in followed.context["messages"]] == ["Deactivated 1 user."]
    assert User.objects.get(pk=member.pk).is_active is False
    assert "/do/reactivate_users/" in _page(followed)


def test_the_user_page_says_what_is_missing_instead_of_none(superuser):
    member = UserFactory(username="member")

    html = _page(browser_for(superuser).get(_user_url(member)))

    assert "No profile photo." in html
    assert "No audited action yet." in html
    assert ">None<" not in html


def test_a_ledger_row_reads_as_its_kind_and_amount(superuser):
    member = UserFactory(username="member")
    entry = credits_grant(user=member, amount="12.5", reason="welcome").entry

    html = _page(browser_for(superuser).get(_user_url(member)))

    assert str(entry) == "admin adjustment, 12.50 credits"
    assert "admin adjustment, 12.50 credits" in html
    assert f"admin_adjustment 12.50 for {member.pk}" not in html
