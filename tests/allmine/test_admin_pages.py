"""Issue 14, "no 'None' or raw codes on any page": every table of the back office,
in a realistic world (the demo data plus a row of each table the demo does not
fill), as a superuser and as a moderator, in English and in Turkish. Each
changelist, and one change page and its history per table, open (or are
refused, for a moderator without the permission), show no "None", and show a
choice's label wherever its stored code differs from it ("cancelled by host" or
its Turkish, never "cancelled_by_host")."""

import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import models
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.services.moderation import user_credits_adjust, user_deactivate
from livestreams.models import (
    AgoraKickStatus,
    AgoraNotice,
    AgoraNoticeOutcome,
    BanAction,
    ChatMessage,
    MiniCrowdFunding,
    RecordingStatus,
    RtmEvent,
    RtmMessage,
    RtmMessageStatus,
)
from livestreams.services.bans import ban_create
from tests.factories import (
    BanFactory,
    ContributionFactory,
    LiveStreamFactory,
    ParticipantFactory,
    ReplayRentalFactory,
    UserFactory,
    agora_kick,
    recording,
)
from tests.helpers import browser_for

LANGUAGES = ["en", "tr"]
ROLES = ["superuser", "moderator"]


# --- The world --------------------------------------------------------------------------


def _the_rest(superuser: User, moderator: User) -> None:
    """A row (or two) of each table the demo data leaves empty, with the empty
    columns a real row has: a ban nobody lifted and one lifted, a kick that
    failed, a recording never stopped, an ignored Agora notice, a queued chat
    event, tokens, audited actions."""
    now = timezone.now()
    stream = LiveStreamFactory(active=True, title="Gece cazı")
    troll = ParticipantFactory(live_stream=stream).user
    ParticipantFactory(live_stream=stream, left=True)
    ban = BanFactory(live_stream=stream, created_by=None)
    BanFactory(live_stream=stream, chat_only=True, lifted=True)
    ban_create(
        actor=moderator,
        live_stream_id=stream.pk,
        target_user_id=troll.pk,
        action_type=BanAction.BLOCK,
        reason="Spam",
    )
    ReplayRentalFactory()
    funded = LiveStreamFactory(fundable=True, title="Albüm lansmanı")
    ContributionFactory(live_stream=funded)
    ContributionFactory(live_stream=funded, refunded=True)
    MiniCrowdFunding.objects.create(live_stream=funded, title="New guitar", goal=Decimal("50"))
    agora_kick(
        stream,
        ban=ban,
        uid=ban.user.agora_uid,
        status=AgoraKickStatus.FAILED,
        attempts=5,
        last_error="Agora answered 503",
    )
    recording(
        stream,
        uid=123456,
        status=RecordingStatus.RECORDING,
        started_at=now,
    )
    AgoraNotice.objects.create(
        notice_id="notice-1",
        event_type=103,
        occurred_at=now,
        channel_name="no-such-channel",
        outcome=AgoraNoticeOutcome.UNKNOWN_CHANNEL,
    )
    said = ChatMessage.objects.select_related("live_stream").first()
    RtmMessage.objects.create(
        live_stream=said.live_stream,
        channel_name=said.live_stream.channel_name,
        chat_message=said,
        event=RtmEvent.values[0],
        status=RtmMessageStatus.values[0],
    )
    member = UserFactory(username="member", credits="10")
    RefreshToken.for_user(member).blacklist()
    user_credits_adjust(actor=superuser, user=member, amount=Decimal("1"), reason="Goodwill")
    user_deactivate(actor=superuser, user=member, reason="Abuse")


@pytest.fixture
def world(db, superuser, moderator, media_root):
    """The demo's photos and gift images go to the test media folder, emptied after."""
    call_command("load_demo_data", stdout=io.StringIO())
    _the_rest(superuser, moderator)
    return {"superuser": superuser, "moderator": moderator}


# --- Reading a page ---------------------------------------------------------------------


class _Cells(HTMLParser):
    """The text of each value a page shows: the changelist's cells
    (`<td class="field-...">`) and the change page's read-only values
    (`<div class="readonly">`)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str]] = []
        self._open: list[list] = []  # [tag, depth, name, text]

    def handle_starttag(self, tag, attrs):
        for cell in self._open:
            if cell[0] == tag:
                cell[1] += 1
        classes = (dict(attrs).get("class") or "").split()
        field = next((c for c in classes if c.startswith("field-")), None)
        if (tag in {"td", "th"} and field) or (tag == "div" and "readonly" in classes):
            self._open.append([tag, 1, field or "readonly", []])

    def handle_endtag(self, tag):
        for cell in list(self._open):
            if cell[0] == tag:
                cell[1] -= 1
                if cell[1] == 0:
                    self._open.remove(cell)
                    self.cells.append((cell[2], " ".join("".join(cell[3]).split())))

    def handle_data(self, data):
        for cell in self._open:
            cell[3].append(data)


def cells(html: str) -> list[tuple[str, str]]:
    reader = _Cells()
    reader.feed(html)
    return reader.cells


def raw_codes() -> set[str]:
    """The stored codes of every choice field of the registered tables whose label
    (in the active language) differs from them, less any text that is some
    choice's label."""
    choices = [
        (str(code), str(label))
        for model in admin.site._registry
        for field in model._meta.get_fields()
        if isinstance(field, models.Field) and field.choices
        for code, label in field.flatchoices
    ]
    labels = {label for _code, label in choices}
    return {code for code, label in choices if code != label and code not in labels}


def assert_reads_well(html: str, url: str) -> int:
    """Assert the page reads well; the number of values it shows."""
    at = html.find(">None<")
    assert at < 0, f"{url}: None shown in {html[max(0, at - 400) : at + 10]}"
    codes = raw_codes()
    # A code of several words ("cancelled_by_host") is never a word of a sentence.
    compound = [re.compile(rf"\b{re.escape(code)}\b") for code in codes if "_" in code]
    shown = cells(html)
    for field, text in shown:
        assert text != "None", (url, field)
        assert text not in codes, f"{url}: {field} shows the raw code {text!r}"
        for code in compound:
            assert not code.search(text), f"{url}: {field} shows a raw code in {text!r}"
    return len(shown)


# --- The pages --------------------------------------------------------------------------


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def may_view(model_admin, user: User) -> bool:
    request = RequestFactory().get("/admin/")
    request.user = user
    return model_admin.has_view_or_change_permission(request)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ROLES)
def test_every_changelist_and_a_change_page_of_each_table_read_well(world, role, language):
    user = world[role]
    client = browser_for(user)
    opened = []
    with translation.override(language):
        for model, model_admin in registered():
            opts = model._meta
            changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            allowed = may_view(model_admin, user)
            response = client.get(changelist, HTTP_ACCEPT_LANGUAGE=language)
            if not allowed:
                assert response.status_code == 403, changelist
                continue
            assert response.status_code == 200, changelist
            assert assert_reads_well(response.content.decode(), changelist), changelist
            row = model_admin.get_queryset(RequestFactory().get("/")).first()
            assert row is not None, f"{opts.label}: the world has no row to open"
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
            response = client.get(change, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200, change
            assert_reads_well(response.content.decode(), change)
            history = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[row.pk])
            response = client.get(history, HTTP_ACCEPT_LANGUAGE=language, follow=True)
            assert response.status_code == 200, history
            assert_reads_well(response.content.decode(), history)
            opened.append(opts.label)

    # The moderator's tables at least: the streams, the people, the money, the trail.
    assert {
        "livestreams.LiveStream",
        "livestreams.LiveStreamBan",
        "livestreams.Contribution",
        "livestreams.StreamReport",
        "accounts.User",
        "accounts.CreditTransaction",
        "allmine.AuditEntry",
    } <= set(opened)
    if role == "superuser":
        assert len(opened) == len(admin.site._registry)


def test_the_check_sees_a_raw_code():
    """The check itself: a cell showing a stored code fails, its label passes."""
    with translation.override("tr"):
        codes = raw_codes()
        assert "cancelled_by_host" in codes
        assert "active" in codes
        good = '<td class="field-status">aktif</td><div class="readonly">—</div>'
        assert_reads_well(good, "good")
        for bad in (
            '<td class="field-status"><span>active</span></td>',
            '<div class="form-row"><div class="readonly">cancelled_by_host</div></div>',
            '<td class="field-photo">None</td>',
            '<td class="field-__str__">stream_funding_contribution -100.00 for 6b10</td>',
        ):
            with pytest.raises(AssertionError):
                assert_reads_well(bad, "bad")
