"""One readable history per object (issue 14): audit entries told as sentences
with links, the before and after values by name, translated when shown; the
object's History button shows it; the audit trail's list reads the same."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.services.moderation import user_credits_adjust, user_deactivate
from allmine.core.audit import audit_history, audit_record
from allmine.core.history import tell, told_line
from allmine.core.models import AuditEntry
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import BanAction
from livestreams.services.bans import ban_create, ban_lift
from livestreams.services.moderation import livestream_end, livestream_set_prices
from tests.factories import LiveStreamFactory, UserFactory

S = LiveStreamStatus


def plain(html) -> str:
    """Text without markup (a sentence's links), spaces folded."""
    return " ".join(re.sub(r"<[^>]*>", "", str(html)).split())


def page_text(response) -> str:
    """A page's text: each element apart, spaces folded."""
    return " ".join(re.sub(r"<[^>]*>", " ", response.content.decode()).split())


@pytest.fixture
def ayse(moderators_group):
    user = UserFactory(username="ayse", is_staff=True)
    user.groups.add(moderators_group)
    return user


@pytest.fixture
def concert(db):
    now = timezone.now()
    return LiveStreamFactory(
        title="Akustik konser",
        status=S.ACTIVE,
        started_at=now,
        host_present=True,
        price=Decimal("5"),
    )


def test_an_end_reads_as_the_issue_asks_in_english_and_turkish(ayse, concert):
    livestream_end(actor=ayse, live_stream_id=concert.pk, reason="spam")
    entry = audit_history(concert).get()

    (told,) = tell([entry])
    assert plain(told_line(told)) == "ayse ended “Akustik konser” — reason: spam"
    assert f'<a href="/admin/accounts/user/{ayse.pk}/change/">ayse</a>' in told.sentence
    assert f'<a href="/admin/livestreams/livestream/{concert.pk}/change/">Akustik konser</a>' in (
        told.sentence
    )
    assert told.changes == [("status", "active", "ended")]

    with translation.override("tr"):
        (told,) = tell([entry])
        assert plain(told_line(told)) == (
            "ayse, “Akustik konser” yayınını sonlandırdı — gerekçe: spam"
        )
        assert told.changes == [("durum", "etkin", "sona erdi")]


def test_bans_lifts_and_prices_read_with_names_and_values(ayse, concert):
    troll = UserFactory(username="troll")
    ban = ban_create(
        actor=ayse,
        live_stream_id=concert.pk,
        target_user_id=troll.pk,
        action_type=BanAction.CHAT_ONLY,
        reason="rude",
    )
    ban_lift(actor=ayse, ban_id=ban.pk, reason="apologised")
    livestream_set_prices(
        actor=ayse, live_stream_id=concert.pk, price=Decimal("7.50"), reason="promo over"
    )

    told = tell(audit_history(concert))

    assert [plain(told_line(t)) for t in told] == [
        "ayse changed the prices of “Akustik konser” — reason: promo over",
        "ayse lifted the ban of troll on “Akustik konser” — reason: apologised",
        "ayse banned troll from “Akustik konser” — reason: rude",
    ]
    assert told[0].changes == [("price", "5.00", "7.50")]
    assert told[2].changes == [("ban type", "—", "chat only: may watch, may not chat")]
    assert f'<a href="/admin/accounts/user/{troll.pk}/change/">troll</a>' in told[2].sentence
    with translation.override("tr"):
        told = tell(audit_history(concert))
        assert told[0].changes == [("fiyat", "5,00", "7,50")]
        assert plain(told_line(told[2])) == (
            "ayse, troll kullanıcısını “Akustik konser” yayınından yasakladı — gerekçe: rude"
        )


def test_account_actions_read_too(db):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    member = UserFactory(username="member", credits="10")
    user_credits_adjust(actor=root, user=member, amount=Decimal("-2.5"), reason="refund fix")
    user_deactivate(actor=root, user=member, reason="abuse")

    told = tell(audit_history(member))

    assert [plain(told_line(t)) for t in told] == [
        "root deactivated the account of member — reason: abuse",
        "root adjusted the credits of member — reason: refund fix",
    ]
    assert told[0].changes == [("active", "yes", "no")]
    assert told[1].changes == [("credit balance", "10.00", "7.50")]


def test_telling_costs_the_same_queries_for_many_entries(ayse, django_assert_num_queries):
    for n in range(12):
        stream = LiveStreamFactory(title=f"Stream {n}")
        troll = UserFactory()
        ban_create(
            actor=ayse,
            live_stream_id=stream.pk,
            target_user_id=troll.pk,
            action_type=BanAction.BLOCK,
            reason="x",
        )
        user_deactivate(actor=ayse, user=troll, reason="x")

    # The entries (with their actors), the streams, the users they are about,
    # the users their changes name.
    with django_assert_num_queries(4):
        told = tell(AuditEntry.objects.select_related("actor"))
    assert len(told) == 24


def test_an_unknown_action_or_a_deleted_target_still_reads(ayse, concert):
    audit_record(actor=ayse, action="teleport", target=concert, reason="why not")
    entry = AuditEntry.objects.get(action="teleport")
    entry.target_id = "6b1000000000000000000000"

    (told,) = tell([entry])

    assert plain(told.sentence) == "ayse: teleport on #6b1000000000000000000000"


def test_the_history_button_shows_the_streams_audit_trail(mod_client, moderator, concert):
    livestream_end(actor=moderator, live_stream_id=concert.pk, reason="spam")
    change = mod_client.get(reverse("admin:livestreams_livestream_change", args=[concert.pk]))
    history_url = reverse("admin:livestreams_livestream_history", args=[concert.pk])
    assert f'href="{history_url}"' in change.content.decode()

    page = mod_client.get(history_url)

    said = page_text(page)
    assert page.status_code == 200
    assert "mod ended “ Akustik konser ”" in said
    assert "Reason: spam" in said
    assert "status : active → ended" in said
    assert "1 audited action" in said
    assert "doesn’t have a change history" not in said
    turkish = page_text(mod_client.get(history_url, HTTP_ACCEPT_LANGUAGE="tr"))
    assert "mod , “ Akustik konser ” yayınını sonlandırdı" in turkish
    assert "durum : etkin → sona erdi" in turkish


def test_a_users_history_button_shows_their_audit_trail(db):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    member = UserFactory(username="member")
    user_deactivate(actor=root, user=member, reason="spam bot")
    client = Client()
    client.force_login(root)

    said = page_text(client.get(reverse("admin:accounts_user_history", args=[member.pk])))

    assert "root deactivated the account of member" in said
    assert "Reason: spam bot" in said


def test_the_history_is_closed_to_staff_who_may_not_see_the_object(concert, db):
    staff = UserFactory(is_staff=True)
    client = Client()
    client.force_login(staff)
    url = reverse("admin:livestreams_livestream_history", args=[concert.pk])
    assert client.get(url).status_code == 403
    staff.user_permissions.add(
        Permission.objects.get(codename="view_livestream", content_type__app_label="livestreams")
    )
    client.force_login(staff)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("entries", [3, 30])
def test_the_audit_trail_list_reads_as_sentences_in_fixed_queries(moderator, mod_client, entries):
    for n in range(entries):
        stream = LiveStreamFactory(title=f"Show {n}", status=S.ACTIVE, started_at=timezone.now())
        livestream_end(actor=moderator, live_stream_id=stream.pk, reason=f"why {n}")
    url = reverse("admin:allmine_auditentry_changelist")
    mod_client.get(url)

    with CaptureQueriesContext(connection) as queries:
        page = mod_client.get(url)

    said = plain(page.content.decode())
    assert "mod ended “Show 0” — reason: why 0" in said
    assert "status: active → ended" in said
    # Session, user, two of permissions, count, page, the streams, two of dates;
    # PostgreSQL's row estimate first (allmine.core.admin.LargeTablePaginator).
    assert len(queries) == 9 + (1 if connection.vendor == "postgresql" else 0)
