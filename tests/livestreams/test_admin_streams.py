"""The live streams' back office (issue 4): who may do what, the moderators'
actions and price edits (through the services, audited), the changelist's
filters, search and query count, and the change form."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from allmine.core.admin import LargeTablePaginator
from allmine.core.models import AuditEntry
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    BanAction,
    Guest,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
    Participant,
)
from livestreams.services.bans import ban_create
from livestreams.services.money import livestream_fund
from tests.api import assert_envelope
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory
from tests.helpers import audit_of, browser_for, form_data, run_moderators_migration

S = LiveStreamStatus
CHANGELIST = reverse("admin:livestreams_livestream_changelist")


def change_url(stream) -> str:
    return reverse("admin:livestreams_livestream_change", args=[stream.pk])


# --- Helpers ---------------------------------------------------------------------


def input_names(response) -> set[str]:
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', response.text))


def shown_titles(response) -> set[str]:
    assert response.status_code == 200
    return {stream.title for stream in response.context["cl"].result_list}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def list_edit(client, stream, *, price="", replay_credit_price=""):
    """Save one row of the changelist's editable prices, as its Save button does."""
    return client.post(
        CHANGELIST,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": stream.pk,
            "form-0-price": price,
            "form-0-replay_credit_price": replay_credit_price,
            "_save": "Save",
        },
    )


def run_action(client, action: str, streams, **fields):
    """An admin action on the selected streams. Without `reason` this is the first
    POST (the changelist's Go); with it, the intermediate page's confirmation."""
    data = {"action": action, "_selected_action": [s.pk for s in streams]}
    if fields:
        data.update(fields, post="yes", select_across="0")
    else:
        data["index"] = "0"
    return client.post(CHANGELIST, data)


# --- Fixtures --------------------------------------------------------------------


@pytest.fixture
def mod_client(moderator):
    return browser_for(moderator)


def active_stream(**fields) -> LiveStream:
    now = timezone.now()
    return LiveStreamFactory(
        status=S.ACTIVE, started_at=now, host_joined_at=now, host_present=True, **fields
    )


def scheduled_stream(**fields) -> LiveStream:
    return LiveStreamFactory(
        status=S.SCHEDULED, planned_start_date=timezone.now() + timedelta(hours=3), **fields
    )


# --- The Moderators group ---------------------------------------------------------


MODERATOR_CAN = {
    ("livestreams", "view_livestream"),
    ("livestreams", "moderate_livestream"),
    ("livestreams", "change_livestream_price"),
    ("livestreams", "view_guest"),
    ("livestreams", "view_participant"),
    ("livestreams", "view_livestreamban"),
    ("livestreams", "view_contribution"),
    ("livestreams", "view_replayaccess"),
    ("livestreams", "view_minicrowdfunding"),
    ("accounts", "view_user"),
    ("accounts", "view_profilephoto"),
    ("accounts", "view_credittransaction"),
    ("allmine", "view_auditentry"),
}


def test_the_data_migration_makes_the_moderators_group_and_takes_it_back(db):
    Group.objects.filter(name="Moderators").delete()
    run_moderators_migration()
    group = Group.objects.get(name="Moderators")
    assert set(group.permissions.values_list("content_type__app_label", "codename")) == (
        MODERATOR_CAN
    )
    run_moderators_migration()  # running it again changes nothing
    assert Group.objects.get(name="Moderators").permissions.count() == len(MODERATOR_CAN)
    run_moderators_migration(forwards=False)
    assert not Group.objects.filter(name="Moderators").exists()


# Added by a later migration: the reports' queue, the gifts and the reminders.
MODERATOR_SEES_TOO = {
    ("livestreams", "view_streamreport"),
    ("livestreams", "view_gift"),
    ("livestreams", "view_gifttype"),
    ("livestreams", "view_streamreminder"),
    # The chat: moderators remove messages (a moderator action, not a change).
    ("livestreams", "view_chatmessage"),
    ("livestreams", "view_superlike"),
    ("livestreams", "view_rtmmessage"),
}


def test_the_moderators_group_holds_what_moderators_may_do(moderators_group):
    permissions = set(
        moderators_group.permissions.values_list("content_type__app_label", "codename")
    )
    assert permissions == MODERATOR_CAN | MODERATOR_SEES_TOO
    # Nothing that adds, deletes or edits, but prices.
    assert {c for _app, c in permissions if c.startswith(("add_", "delete_", "change_"))} == {
        "change_livestream_price"
    }


# --- What a moderator may do -------------------------------------------------------


def test_moderator_sees_the_changelist_with_editable_prices(mod_client):
    stream = active_stream(title="Late night jazz", price=Decimal("5"))
    response = mod_client.get(CHANGELIST)
    assert response.status_code == 200
    assert shown_titles(response) == {"Late night jazz"}
    # The row's inputs: the two prices (and the row's id), nothing else.
    row_inputs = {n for n in input_names(response) if n.startswith("form-0-")}
    assert row_inputs == {"form-0-price", "form-0-replay_credit_price", "form-0-id"}
    assert 'name="form-0-price" value="5.00"' in response.text
    # The coloured status, the access and a link to the creator.
    assert 'class="stream-status"' in response.text
    assert '<td class="field-access">paid</td>' in response.text
    assert reverse("admin:accounts_user_change", args=[stream.creator_id]) in response.text


def test_moderator_has_the_moderation_actions_and_no_delete(mod_client):
    active_stream()
    response = mod_client.get(CHANGELIST)
    actions = set(re.findall(r'<option value="([a-z_]+)">', response.text))
    assert {"end_now", "cancel", "remove", "restore", "ban_user"} <= actions
    assert "delete_selected" not in actions


def test_moderator_sees_the_change_page_with_only_prices_editable(mod_client):
    stream = active_stream(title="Original", price=Decimal("5"))
    response = mod_client.get(change_url(stream))
    assert response.status_code == 200
    main_fields = {
        n for n in input_names(response) if "-" not in n and n != "csrfmiddlewaretoken"
    } - {"_save", "_continue"}
    # The prices, and why they change (for the audit trail).
    assert main_fields == {"price", "replay_credit_price", "change_reason"}
    assert "Original" in response.text


def test_moderator_cannot_change_other_fields_through_the_change_form(mod_client, moderator):
    stream = active_stream(title="Original", price=Decimal("5"))
    data = form_data(mod_client.get(change_url(stream)), form_id="livestream_form")
    data.update(
        title=["Hijacked"], status=["ended"], channel_name=["x"], price=["7.50"], _save=["Save"]
    )
    response = mod_client.post(change_url(stream), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    stream.refresh_from_db()
    assert stream.title == "Original"
    assert stream.status == S.ACTIVE
    assert stream.price == Decimal("7.50")
    entry = audit_of(stream).get()
    assert entry.action == "change_price"
    assert entry.actor == moderator
    assert entry.changes == {"price": ["5.00", "7.50"]}


@pytest.mark.parametrize(
    ("url", "method"),
    [
        pytest.param(lambda s: reverse("admin:livestreams_livestream_add"), "get", id="add-get"),
        pytest.param(lambda s: reverse("admin:livestreams_livestream_add"), "post", id="add-post"),
        pytest.param(
            lambda s: reverse("admin:livestreams_livestream_delete", args=[s.pk]),
            "get",
            id="delete-get",
        ),
        pytest.param(
            lambda s: reverse("admin:livestreams_livestream_delete", args=[s.pk]),
            "post",
            id="delete-post",
        ),
    ],
)
def test_moderator_may_not_add_or_delete_streams(mod_client, url, method):
    stream = active_stream()
    response = getattr(mod_client, method)(url(stream), {"post": "yes", "title": "New"})
    assert response.status_code == 403
    assert LiveStream.objects.count() == 1
    assert LiveStream.objects.get().deleted_at is None


def test_delete_selected_is_not_an_action_even_when_posted(mod_client):
    stream = active_stream()
    response = mod_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [stream.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    assert LiveStream.objects.filter(pk=stream.pk).exists()
    assert LiveStream.objects.get(pk=stream.pk).deleted_at is None


def test_moderator_may_view_but_not_change_a_user(mod_client):
    target = UserFactory(username="viewer1", email="viewer1@example.com")
    url = reverse("admin:accounts_user_change", args=[target.pk])
    assert mod_client.get(url).status_code == 200
    response = mod_client.post(
        url,
        {
            "username": "hacked",
            "email": "hacked@example.com",
            "credit_balance": "1000000",
            "is_superuser": "on",
            "is_staff": "on",
        },
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert (target.username, target.email) == ("viewer1", "viewer1@example.com")
    assert target.credit_balance == Decimal("0")
    assert not target.is_superuser


def test_moderator_may_not_change_a_users_password(mod_client):
    target = UserFactory()
    url = reverse("admin:auth_user_password_change", args=[target.pk])
    response = mod_client.post(
        url, {"password1": "x-New-password-42", "password2": "x-New-password-42"}
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert not target.check_password("x-New-password-42")


def test_staff_outside_the_group_sees_nothing(db):
    client = browser_for(UserFactory(is_staff=True))
    stream = active_stream()
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(stream)).status_code == 403
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert response.context["app_list"] == []
    assert "live stream" not in response.text.lower()
    assert run_action(client, "end_now", [stream], reason="x").status_code == 403
    assert list_edit(client, stream, price="9").status_code == 403
    stream.refresh_from_db()
    assert stream.status == S.ACTIVE
    assert stream.price is None
    assert not AuditEntry.objects.exists()


# --- The actions ---------------------------------------------------------------------


def _ban_target():
    return UserFactory(username="troll")


ACTIONS = [
    # action, the stream, more fields, audited as, done?, expected audit changes, message
    pytest.param(
        "end_now",
        active_stream,
        {},
        "end",
        lambda s: s.status == S.ENDED and s.ended_at is not None,
        {"status": ["active", "ended"]},
        "Ended 1 stream.",
        id="end-now",
    ),
    pytest.param(
        "cancel",
        scheduled_stream,
        {},
        "cancel",
        lambda s: s.status == S.CANCELLED_BY_HOST,
        {"status": ["scheduled", "cancelled_by_host"]},
        "Cancelled 1 stream.",
        id="cancel",
    ),
    pytest.param(
        "remove",
        scheduled_stream,
        {},
        "remove",
        lambda s: s.deleted_at is not None and s.deletion_reason == "Spam at midnight",
        None,
        "Removed 1 stream.",
        id="remove",
    ),
    pytest.param(
        "restore",
        lambda: scheduled_stream(deleted_at=timezone.now(), deletion_reason="oops"),
        {},
        "restore",
        lambda s: s.deleted_at is None and s.deletion_reason == "",
        None,
        "Restored 1 stream.",
        id="restore",
    ),
    pytest.param(
        "ban_user",
        active_stream,
        {"user": "TROLL", "action_type": BanAction.BLOCK},
        "ban",
        lambda s: LiveStreamBan.objects.filter(
            live_stream=s, user__username="troll", action_type=BanAction.BLOCK
        ).exists(),
        None,
        "Banned the user from 1 stream.",
        id="ban",
    ),
]


@pytest.mark.parametrize(
    ("action", "make", "fields", "audited_as", "done", "changes", "message"), ACTIONS
)
def test_moderator_action_asks_for_a_reason_then_calls_the_service(
    mod_client, moderator, action, make, fields, audited_as, done, changes, message
):
    stream = make()
    troll = _ban_target()
    fields = {k: troll.pk if v == "TROLL" else v for k, v in fields.items()}
    before = LiveStream.objects.get(pk=stream.pk)

    page = run_action(mod_client, action, [stream])
    assert page.status_code == 200
    assert 'name="reason"' in page.text
    assert 'name="post" value="yes"' in page.text
    assert stream.title in page.text
    assert f'name="_selected_action" value="{stream.pk}"' in page.text
    if action == "ban_user":
        assert 'name="user"' in page.text
        assert 'name="action_type"' in page.text
    # Nothing has happened yet.
    assert not done(LiveStream.objects.get(pk=stream.pk))
    assert not audit_of(stream).exists()

    response = run_action(mod_client, action, [stream], reason="Spam at midnight", **fields)
    assert response.status_code == 302
    after = LiveStream.objects.get(pk=stream.pk)
    assert done(after)
    entry = audit_of(stream).get()
    assert entry.actor == moderator
    assert entry.action == audited_as
    assert entry.reason == "Spam at midnight"
    assert entry.changes  # old and new values
    if changes is not None:
        assert {k: entry.changes[k] for k in changes} == changes
    if action in ("remove", "restore"):
        old, new = entry.changes["deletedAt"]
        assert (old is None) == (before.deleted_at is None)
        assert (new is None) == (after.deleted_at is None)

    followed = mod_client.get(response["Location"])
    assert messages_of(followed) == [message]


def test_an_action_without_a_reason_shows_the_page_again_and_does_nothing(mod_client):
    stream = active_stream()
    response = run_action(mod_client, "end_now", [stream], reason="  ")
    assert response.status_code == 200
    assert "This field is required." in response.text
    stream.refresh_from_db()
    assert stream.status == S.ACTIVE
    assert not audit_of(stream).exists()


def test_an_action_the_lifecycle_does_not_allow_leaves_the_stream_and_says_why(mod_client):
    stream = scheduled_stream(title="Not started yet")
    response = run_action(mod_client, "end_now", [stream], reason="Too early")
    assert response.status_code == 302
    shown = messages_of(mod_client.get(response["Location"]))
    assert shown == [
        "Nothing was changed. Left as they are: 1 scheduled (only a live stream can be ended)."
    ]
    stream.refresh_from_db()
    assert stream.status == S.SCHEDULED
    assert not audit_of(stream).exists()


def test_a_refusal_of_the_service_names_the_stream_and_says_why(mod_client):
    stream = active_stream(title="Own stream")
    response = run_action(
        mod_client,
        "ban_user",
        [stream],
        user=stream.creator_id,
        action_type=BanAction.BLOCK,
        reason="x",
    )
    assert response.status_code == 302
    shown = messages_of(mod_client.get(response["Location"]))
    assert shown == [
        "Nothing was changed. Not changed for Own stream: targetUserId: The creator cannot be"
        " banned from their own live stream."
    ]
    assert not LiveStreamBan.objects.exists()


def test_ban_action_with_an_unknown_user_is_refused_on_the_page(mod_client):
    stream = active_stream()
    response = run_action(
        mod_client,
        "ban_user",
        [stream],
        user="6b10000000000000000000ff",
        action_type=BanAction.BLOCK,
        reason="x",
    )
    assert response.status_code == 200
    assert "No such user: search by username or e-mail." in response.text
    assert not LiveStreamBan.objects.exists()


def test_the_confirmation_page_posts_back_what_it_shows(mod_client, moderator):
    """Confirm on the intermediate page, as a browser would submit it."""
    streams = [active_stream(title=f"Live {i}") for i in range(2)]
    page = run_action(mod_client, "end_now", streams)
    data = form_data(page, containing="reason")
    assert sorted(data["_selected_action"]) == sorted(s.pk for s in streams)
    data.update(reason=["Raid"])
    response = mod_client.post(CHANGELIST, data)
    assert response.status_code == 302
    assert set(LiveStream.objects.values_list("status", flat=True)) == {S.ENDED}
    assert AuditEntry.objects.filter(action="end", actor=moderator, reason="Raid").count() == 2


def test_select_all_across_more_streams_than_a_request_may_carry(mod_client, settings):
    """ "Select all N live streams" with N above DATA_UPLOAD_MAX_NUMBER_FIELDS: the
    confirmation must not post N ids back (Django would answer 400)."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 60
    bulk_streams(80)
    LiveStream.objects.update(status=S.SCHEDULED)
    first = LiveStream.objects.order_by("-created_at").first()
    page = mod_client.post(
        CHANGELIST,
        {"action": "cancel", "_selected_action": [first.pk], "select_across": "1", "index": "0"},
    )
    assert page.status_code == 200
    assert "This applies to these 80 live streams:" in page.text
    data = form_data(page, containing="reason")
    assert data["select_across"] == ["1"]
    data.update(reason=["Cleanup"])
    # Above ADMIN_TYPED_CONFIRMATION_ABOVE (20) streams, the number is typed.
    again = mod_client.post(CHANGELIST, data)
    assert again.status_code == 200
    assert "Type 80 to confirm" in again.text
    assert LiveStream.objects.filter(status=S.CANCELLED_BY_HOST).count() == 0
    data.update(confirm_count=["80"])
    response = mod_client.post(CHANGELIST, data)
    assert response.status_code == 302
    assert LiveStream.objects.filter(status=S.CANCELLED_BY_HOST).count() == 80
    assert AuditEntry.objects.filter(action="cancel", reason="Cleanup").count() == 80


def test_moderator_lifts_a_ban_from_the_bans_list(mod_client, moderator):
    stream = active_stream()
    ban = ban_create(
        actor=moderator,
        live_stream_id=stream.pk,
        target_user_id=_ban_target().pk,
        action_type=BanAction.BLOCK,
        reason="Spam",
    )
    bans = reverse("admin:livestreams_livestreamban_changelist")
    selection = {"action": "lift", "_selected_action": [ban.pk], "index": "0"}

    page = mod_client.post(bans, selection)
    assert page.status_code == 200  # the reason page: nothing lifted yet
    assert 'name="reason"' in page.text
    ban.refresh_from_db()
    assert ban.lifted_at is None

    response = mod_client.post(bans, {**selection, "post": "yes", "reason": "Apologised"})
    assert response.status_code == 302
    ban.refresh_from_db()
    assert ban.lifted_at is not None
    assert ban.lifted_by == moderator
    assert audit_of(stream, action="unban", actor=moderator).get().reason == "Apologised"


def test_a_block_ban_from_the_back_office_takes_the_user_out_of_the_audience(mod_client):
    stream = active_stream()
    troll = _ban_target()
    Participant.objects.create(live_stream=stream, user=troll, is_present=True)
    run_action(
        mod_client,
        "ban_user",
        [stream],
        user=troll.pk,
        action_type=BanAction.BLOCK,
        reason="Insults",
    )
    assert not Participant.objects.get(live_stream=stream, user=troll).is_present


def test_an_action_on_several_streams_runs_on_each(mod_client):
    streams = [active_stream() for _ in range(3)]
    response = run_action(mod_client, "end_now", streams, reason="Raid")
    assert response.status_code == 302
    assert set(LiveStream.objects.values_list("status", flat=True)) == {S.ENDED}
    assert AuditEntry.objects.filter(action="end").count() == 3


# --- Prices edited in the list -------------------------------------------------------


def access_type_via_api(client_for, stream) -> str:
    data = assert_envelope(client_for(UserFactory()).get(f"/api/v1/live-stream/{stream.pk}"), 200)
    return data["accessType"]


def test_price_edited_in_the_list_is_saved_audited_and_the_stream_becomes_paid(
    mod_client, moderator, client_for
):
    stream = active_stream(price=None)
    assert access_type_via_api(client_for, stream) == "free"

    response = list_edit(mod_client, stream, price="12.50", replay_credit_price="3")
    assert response.status_code == 302
    stream.refresh_from_db()
    assert (stream.price, stream.replay_credit_price) == (Decimal("12.50"), Decimal("3.00"))
    assert access_type_via_api(client_for, stream) == "paid"
    entry = audit_of(stream).get()
    assert (entry.actor, entry.action) == (moderator, "change_price")
    assert set(entry.changes) == {"price", "replay_credit_price"}
    assert entry.changes["price"] == [None, "12.50"]
    old, new = entry.changes["replay_credit_price"]
    assert old is None
    assert Decimal(new) == Decimal("3")

    page = mod_client.get(response["Location"])
    assert any("was changed successfully" in m for m in messages_of(page))
    assert 'name="form-0-price" value="12.50"' in page.text


def test_a_price_set_back_to_zero_makes_the_stream_free(mod_client, client_for):
    stream = active_stream(price=Decimal("8"))
    assert access_type_via_api(client_for, stream) == "paid"
    assert list_edit(mod_client, stream, price="0").status_code == 302
    stream.refresh_from_db()
    assert not stream.price
    assert access_type_via_api(client_for, stream) == "free"
    assert audit_of(stream, action="change_price").get().changes["price"][0] == "8.00"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price", "-1", "Must not be negative."),
        ("price", "1.234", "2 decimal"),
        ("price", str(settings.LIVESTREAM_MAX_PRICE + 1), "Must be at most"),
        ("replay_credit_price", "-0.01", "Must not be negative."),
        ("replay_credit_price", "0.001", "2 decimal"),
        ("replay_credit_price", str(settings.LIVESTREAM_MAX_PRICE + 1), "Must be at most"),
    ],
)
def test_a_price_the_api_would_refuse_is_refused_in_the_list(mod_client, field, value, message):
    stream = active_stream(price=Decimal("5"), replay_credit_price=Decimal("2"))
    prices = {"price": "5.00", "replay_credit_price": "2.00", field: value}
    response = list_edit(mod_client, stream, **prices)
    assert response.status_code == 200
    assert 'class="errorlist' in response.text
    assert message in response.text
    stream.refresh_from_db()
    assert (stream.price, stream.replay_credit_price) == (Decimal("5.00"), Decimal("2.00"))
    assert not audit_of(stream).exists()


def test_a_price_the_api_would_refuse_is_refused_in_the_change_form(mod_client):
    stream = active_stream(price=Decimal("5"))
    data = form_data(mod_client.get(change_url(stream)), form_id="livestream_form")
    data.update(price=["-3"], _save=["Save"])
    response = mod_client.post(change_url(stream), data)
    assert response.status_code == 200
    assert "Must not be negative." in response.text
    stream.refresh_from_db()
    assert stream.price == Decimal("5.00")
    assert not audit_of(stream).exists()


def test_the_max_price_setting_is_the_one_the_list_applies(mod_client, settings):
    settings.LIVESTREAM_MAX_PRICE = Decimal("50")
    stream = active_stream(price=Decimal("5"))
    response = list_edit(mod_client, stream, price="50.01")
    assert response.status_code == 200
    assert "Must be at most 50" in response.text
    assert list_edit(mod_client, stream, price="50").status_code == 302
    stream.refresh_from_db()
    assert stream.price == Decimal("50.00")


# --- The superuser -------------------------------------------------------------------


def test_superuser_edits_the_basics_and_the_edit_is_audited(superuser):
    client = browser_for(superuser)
    stream = scheduled_stream(title="Old title", price=Decimal("4"))
    data = form_data(client.get(change_url(stream)), form_id="livestream_form")
    data.update(title=["New title"], _save=["Save"])
    response = client.post(change_url(stream), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    stream.refresh_from_db()
    assert stream.title == "New title"
    assert stream.price == Decimal("4.00")  # untouched
    entry = audit_of(stream).get()
    assert (entry.actor, entry.action) == (superuser, "edit")
    assert entry.changes == {"title": ["Old title", "New title"]}


def test_superuser_sees_server_owned_fields_read_only(superuser):
    client = browser_for(superuser)
    stream = active_stream(recording=True, recording_url="https://cdn.example.com/r.mp4")
    response = client.get(change_url(stream))
    names = input_names(response)
    assert {"title", "price", "replay_credit_price", "funding_goal"} <= names
    assert not names & {
        "channel_name",
        "status",
        "collected_funding",
        "started_at",
        "ended_at",
        "recording_url",
        "creator",
        "deleted_at",
    }
    assert stream.channel_name in response.text
    assert "https://cdn.example.com/r.mp4" in response.text


# --- The change form -----------------------------------------------------------------


def test_change_form_groups_fields_and_shows_inlines_audience_contributions_history(
    mod_client, moderator
):
    stream = scheduled_stream(
        title="Funded show",
        live_stream_type=LiveStreamType.DUOSELF,
        funding_goal=Decimal("1000"),
    )
    GuestFactory(live_stream=stream, user=UserFactory(username="guest-star"))
    fan = UserFactory(username="big-fan", credits="600")
    livestream_fund(user=fan, live_stream_id=stream.pk, amount=Decimal("500"))
    Participant.objects.create(live_stream=stream, user=UserFactory(username="watcher"))
    troll = UserFactory(username="troll")
    ban_create(
        actor=moderator,
        live_stream_id=stream.pk,
        target_user_id=troll.pk,
        action_type=BanAction.CHAT_ONLY,
        reason="Rude in chat",
    )

    response = mod_client.get(change_url(stream))
    assert response.status_code == 200
    headings = re.findall(r'<h2[^>]*class="fieldset-heading"[^>]*>([^<]+)</h2>', response.text)
    assert headings == [
        "Basics",
        "Schedule",
        "Pricing",
        "Funding",
        "Replay",
        "Audience",
        "Chat",
        "Moderation",
    ]
    text = response.text
    # Inlines: guests and bans.
    assert "guest-star" in text
    assert 'id="guest_set-group"' in text
    assert 'id="bans-group"' in text
    assert "Rude in chat" in text
    # The current audience and the contributions tables.
    assert "watcher" in text
    assert "big-fan" in text
    assert "500" in text
    assert "500 / 1000 (50.00 %)" in text
    # The audit history, with who, what and why.
    history = text[text.index('class="audit-history"') :]
    assert "ban" in history
    assert "mod" in history
    assert "Rude in chat" in history


def test_the_change_form_costs_the_same_queries_whatever_the_audience(mod_client):
    def page_queries(stream):
        with CaptureQueriesContext(connection) as queries:
            assert mod_client.get(change_url(stream)).status_code == 200
        return len(queries)

    small = active_stream()
    Participant.objects.create(live_stream=small, user=UserFactory())
    big = active_stream()
    for user in UserFactory.create_batch(15):
        Participant.objects.create(live_stream=big, user=user)
        Guest.objects.create(live_stream=big, user=user)
    assert page_queries(small) == page_queries(big)


# --- Filters and search --------------------------------------------------------------


@pytest.fixture
def three_streams(db):
    interest = settings.LIVESTREAM_INTERESTS[0]
    other_interest = settings.LIVESTREAM_INTERESTS[1]
    a = active_stream(
        title="Alpha sunrise",
        price=Decimal("5"),
        interest=interest,
        recording=True,
        funding_goal=Decimal("100"),
        creator=UserFactory(username="anna", email="anna@studio.example"),
    )
    b = scheduled_stream(
        title="Bravo night",
        live_stream_type=LiveStreamType.DUOCROWD,
        interest=other_interest,
        channel_name="bravo-channel-42",
        deleted_at=timezone.now(),
        creator=UserFactory(username="bert", email="bert@example.com"),
    )
    c = LiveStreamFactory(
        title="Charlie replay",
        status=S.ENDED,
        live_stream_type=LiveStreamType.DUOSELF,
        price=Decimal("0"),
        funding_goal=Decimal("0"),
        creator=UserFactory(username="carla", email="carla@example.com"),
    )
    return a, b, c


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"Alpha sunrise", "Bravo night", "Charlie replay"}),
        ("status__exact=active", {"Alpha sunrise"}),
        ("status__exact=ended", {"Charlie replay"}),
        ("live_stream_type__exact=duocrowd", {"Bravo night"}),
        ("access=paid", {"Alpha sunrise"}),
        ("access=free", {"Bravo night", "Charlie replay"}),
        ("interest=INTEREST", {"Alpha sunrise"}),
        ("recording__exact=1", {"Alpha sunrise"}),
        ("recording__exact=0", {"Bravo night", "Charlie replay"}),
        ("funding=yes", {"Alpha sunrise"}),
        ("funding=no", {"Bravo night", "Charlie replay"}),
        ("removed=yes", {"Bravo night"}),
        ("removed=no", {"Alpha sunrise", "Charlie replay"}),
        ("status__exact=active&access=free", set()),
    ],
)
def test_filters(mod_client, three_streams, query, expected):
    query = query.replace("INTEREST", settings.LIVESTREAM_INTERESTS[0])
    assert shown_titles(mod_client.get(f"{CHANGELIST}?{query}")) == expected


def test_the_sidebar_offers_each_filter(mod_client, three_streams):
    text = mod_client.get(CHANGELIST).text
    for query in (
        "?status__exact=active",
        "?live_stream_type__exact=solo",
        "?access=paid",
        f"?interest={settings.LIVESTREAM_INTERESTS[0]}",
        "?recording__exact=1",
        "?funding=yes",
        "?removed=yes",
    ):
        assert f'href="{query}"' in text, query


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("sunrise", {"Alpha sunrise"}),
        ("bravo-channel-42", {"Bravo night"}),
        ("carla", {"Charlie replay"}),
        ("anna@studio.example", {"Alpha sunrise"}),
        ("nothing-like-this", set()),
    ],
)
def test_search(mod_client, three_streams, search, expected):
    assert shown_titles(mod_client.get(CHANGELIST, {"q": search})) == expected


def test_search_by_exact_id(mod_client, three_streams):
    _a, b, _c = three_streams
    assert shown_titles(mod_client.get(CHANGELIST, {"q": b.pk})) == {"Bravo night"}
    assert shown_titles(mod_client.get(CHANGELIST, {"q": b.pk[:12]})) == set()


def test_date_hierarchy_drills_down_by_creation_date(mod_client, three_streams):
    a, _b, _c = three_streams
    LiveStream.objects.filter(pk=a.pk).update(created_at=timezone.now() - timedelta(days=800))
    year = (timezone.now() - timedelta(days=800)).year
    assert shown_titles(mod_client.get(CHANGELIST, {"created_at__year": year})) == {"Alpha sunrise"}


# --- A large table -------------------------------------------------------------------


def bulk_streams(count: int, *, creators: int = 5) -> list[LiveStream]:
    """`count` streams (ended or scheduled, some paid, some with a funding goal) by a
    handful of creators, with a few guests and viewers on the newest."""
    users = UserFactory.create_batch(creators)
    now = timezone.now()
    streams = LiveStream.objects.bulk_create(
        LiveStream(
            title=f"Bulk {i}",
            channel_name=f"bulk-{i}",
            creator=users[i % creators],
            status=S.ENDED if i % 2 else S.SCHEDULED,
            price=Decimal(i % 7) or None,
            funding_goal=Decimal(100) if i % 3 == 0 else None,
            collected_funding=Decimal(i % 100),
            created_at=now - timedelta(minutes=i),
        )
        for i in range(count)
    )
    for stream in streams[:3]:
        for user in users[:3]:
            if user.pk != stream.creator_id:
                Guest.objects.create(live_stream=stream, user=user)
                Participant.objects.create(live_stream=stream, user=user)
    return streams


# Whatever the size of the table: the session, the user, their own and their
# groups' permissions, the count, the page's rows, the viewers of the page's
# streams, and the date hierarchy's two (first/last date, then the distinct
# days). PostgreSQL asks pg_class first.
CHANGELIST_QUERIES = 9


@pytest.mark.parametrize("count", [10, 1000])
def test_changelist_query_count_does_not_grow_with_the_table(
    mod_client, django_assert_num_queries, count
):
    bulk_streams(count)
    expected = CHANGELIST_QUERIES + (1 if connection.vendor == "postgresql" else 0)
    with django_assert_num_queries(expected):
        response = mod_client.get(CHANGELIST)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == min(count, 50)
    assert "Bulk 0" in response.text


@pytest.mark.parametrize("count", [10, 1000])
def test_filtered_changelist_query_count_does_not_grow_with_the_table(
    mod_client, django_assert_num_queries, count
):
    bulk_streams(count)
    with django_assert_num_queries(CHANGELIST_QUERIES):
        response = mod_client.get(CHANGELIST, {"status__exact": "ended", "q": "Bulk"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == min(count // 2, 50)


WHOLE_TABLE_COUNT = re.compile(
    r'SELECT COUNT\(\*\) AS "__count" FROM "livestreams_livestream"(?! WHERE)', re.I
)


def whole_table_counts(client, params=None) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST, params or {})
    assert response.status_code == 200
    return [q["sql"] for q in queries if WHOLE_TABLE_COUNT.search(q["sql"])]


@pytest.fixture
def planner_stats(db):
    """`analyze()` refreshes PostgreSQL's row estimate of the streams table. ANALYZE
    writes pg_class in place (a rollback does not undo it), so the estimate is put
    back to an empty table's afterwards: rows deleted by this transaction do not
    count, and the deletion itself is rolled back with the rest of the test."""

    def analyze():
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE livestreams_livestream")

    yield analyze
    with connection.cursor() as cursor:
        tables = (
            "livestreams_guest",
            "livestreams_participant",
            "livestreams_viewercount",  # kept by the participant table's triggers
            "livestreams_livestream",
        )
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")  # what bulk_streams made
    analyze()


@pytest.mark.postgres
def test_a_large_table_is_never_counted_whole(mod_client, monkeypatch, planner_stats):
    bulk_streams(300)
    # While the planner has not seen the table, it is counted (the check can fail).
    assert whole_table_counts(mod_client) != []

    monkeypatch.setattr(LargeTablePaginator, "ESTIMATE_ABOVE", 100)
    planner_stats()
    assert whole_table_counts(mod_client) == []
    response = mod_client.get(CHANGELIST)
    assert response.context["cl"].result_count == 300
    assert len(response.context["cl"].result_list) == 50
    # A filtered list counts what it shows, exactly.
    response = mod_client.get(CHANGELIST, {"status__exact": "ended"})
    assert response.context["cl"].result_count == 150


# --- Issue 14: live first, a reason for a price change, no "None" ----------------------


def test_the_list_shows_live_streams_first_then_those_about_to_start(mod_client):
    now = timezone.now()
    LiveStreamFactory(
        title="Old live", status=S.ACTIVE, started_at=now, created_at=now - timedelta(days=3)
    )
    LiveStreamFactory(title="New ended", status=S.ENDED, created_at=now)
    LiveStreamFactory(title="Preparing", status=S.PREPARING, created_at=now - timedelta(days=2))
    scheduled_stream(title="Scheduled", created_at=now - timedelta(days=1))
    LiveStreamFactory(
        title="Newer live", status=S.ACTIVE, started_at=now, created_at=now - timedelta(hours=1)
    )

    response = mod_client.get(CHANGELIST)

    assert [s.title for s in response.context["cl"].result_list] == [
        "Newer live",
        "Old live",
        "Preparing",
        "Scheduled",
        "New ended",
    ]


def test_a_price_changed_on_the_stream_page_keeps_its_reason(mod_client, moderator):
    stream = active_stream(price=Decimal("5"))
    data = form_data(mod_client.get(change_url(stream)), form_id="livestream_form")
    data.update(price=["6"], change_reason=["Creator asked by e-mail"], _save=["Save"])

    assert mod_client.post(change_url(stream), data).status_code == 302

    entry = audit_of(stream).get()
    assert (entry.action, entry.reason) == ("change_price", "Creator asked by e-mail")


def test_no_page_of_a_stream_says_none_or_shows_raw_codes(mod_client, moderator):
    stream = scheduled_stream(title="Quiet show", funding_goal=Decimal("100"))
    fan = UserFactory(username="fan", credits="50")
    livestream_fund(user=fan, live_stream_id=stream.pk, amount=Decimal("20"))
    Participant.objects.create(live_stream=stream, user=UserFactory(username="watcher"))
    ban_create(
        actor=moderator,
        live_stream_id=stream.pk,
        target_user_id=UserFactory(username="troll").pk,
        action_type=BanAction.BLOCK,
        reason="Spam",
    )
    pages = [
        change_url(stream),
        CHANGELIST,
        reverse("admin:livestreams_livestream_history", args=[stream.pk]),
        reverse("admin:livestreams_livestreamban_changelist"),
        reverse("admin:livestreams_participant_changelist"),
        reverse("admin:livestreams_contribution_changelist"),
        reverse("admin:accounts_credittransaction_changelist"),
        reverse("admin:accounts_user_change", args=[fan.pk]),
        reverse("admin:allmine_auditentry_changelist"),
        reverse("admin:index"),
    ]
    for url in pages:
        response = mod_client.get(url)
        assert response.status_code == 200, url
        said = " ".join(re.sub(r"<[^>]*>", " ", response.content.decode()).split())
        for raw in ("None", "BLOCK ", "stream_funding_contribution", "cancelled_by_host"):
            assert raw not in said, (url, raw)
        assert f"in {stream.pk}" not in said, url  # "BLOCK <user id> in <stream id>"
