"""The moderators' actions where they are (issue 14): a preview that says what
an action applies to and what it leaves out (by the lifecycle's own rules), who
is kicked and what is refunded, ONE summary message, a typed confirmation above
a threshold; the same actions as buttons on a stream's page, "Ban" on each
participant and "Lift" on each ban; who cancelled a stream."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from allmine.core.admin import ReasonedActionMixin
from allmine.core.errors import Conflict
from allmine.core.models import AuditEntry
from livestreams.admin import actions as stream_actions
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import BanAction, Guest, LiveStream, LiveStreamBan, Participant
from livestreams.services.bans import ban_create
from livestreams.services.moderation import livestream_end
from livestreams.services.money import livestream_fund
from tests.factories import LiveStreamFactory, UserFactory

S = LiveStreamStatus
CHANGELIST = reverse("admin:livestreams_livestream_changelist")


def change_url(stream) -> str:
    return reverse("admin:livestreams_livestream_change", args=[stream.pk])


def do_url(stream, action: str) -> str:
    return reverse("admin:livestreams_livestream_do", args=[stream.pk, action])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def text(response) -> str:
    """What the page says, without markup, spaces folded."""
    return " ".join(re.sub(r"<[^>]*>", " ", response.content.decode()).split())


def live(title="Live", viewers: int = 0, **fields) -> LiveStream:
    now = timezone.now()
    stream = LiveStreamFactory(
        title=title, status=S.ACTIVE, started_at=now, host_present=True, **fields
    )
    for n in range(viewers):
        Participant.objects.create(
            live_stream=stream, user=UserFactory(username=f"{title.lower()}-fan{n}")
        )
    return stream


def scheduled(title="Later", **fields) -> LiveStream:
    return LiveStreamFactory(
        title=title,
        status=S.SCHEDULED,
        planned_start_date=timezone.now() + timedelta(days=1),
        **fields,
    )


def fund(stream, user, amount: str):
    livestream_fund(user=user, live_stream_id=stream.pk, amount=Decimal(amount))


def choose(client, action: str, streams, **form):
    """The change list's action on `streams`: the preview, or with `form` its
    confirmation."""
    data = {"action": action, "_selected_action": [s.pk for s in streams]}
    if form:
        data.update(form, post="yes", select_across="0")
    else:
        data["index"] = "0"
    return client.post(CHANGELIST, data)


# --- The preview of a bulk action --------------------------------------------------------


def test_ending_fifty_streams_says_how_many_can_be_ended_and_reports_once(mod_client, moderator):
    running = [live(f"Running {n}", viewers=1 if n < 4 else 0) for n in range(18)]
    done = [LiveStreamFactory(title=f"Done {n}", status=S.ENDED) for n in range(30)]
    gone = [LiveStreamFactory(title=f"Gone {n}", status=S.EXPIRED) for n in range(2)]
    chosen = running + done + gone

    preview = choose(mod_client, "end_now", chosen)

    assert preview.status_code == 200
    page = text(preview)
    assert "18 of the 50 chosen streams can be ended." in page
    assert "Left as they are: 30 ended, 2 expired (only a live stream can be ended)." in page
    assert (
        "4 viewers are watching them and are taken out of their channels, with their hosts"
        " and guests." in page
    )
    assert "This applies to these 18 live streams:" in page
    assert "“Done 0”" not in page  # the list names what it applies to
    assert 'value="End 18 streams"' in preview.content.decode()
    assert "Go back" in page
    assert 'name="confirm_count"' not in preview.content.decode()  # 18 is under 20
    assert not AuditEntry.objects.exists()

    response = choose(mod_client, "end_now", chosen, reason="Raid")

    assert response.status_code == 302
    assert messages_of(mod_client.get(response["Location"])) == [
        "Ended 18 streams. Left as they are: 30 ended, 2 expired (only a live stream can be ended)."
    ]
    assert set(
        LiveStream.objects.filter(title__startswith="Running").values_list("status", flat=True)
    ) == {S.ENDED}
    assert LiveStream.objects.filter(status=S.EXPIRED).count() == 2
    assert AuditEntry.objects.filter(action="end", actor=moderator, reason="Raid").count() == 18
    assert not Participant.objects.filter(is_present=True).exists()


def test_cancelling_totals_the_refunds_and_asks_to_type_the_number_above_the_threshold(
    mod_client, settings
):
    settings.ADMIN_TYPED_CONFIRMATION_ABOVE = 2
    fans = [UserFactory(credits="35.50"), UserFactory(credits="4.50")]
    streams = [scheduled(f"Funded {n}", funding_goal=Decimal("500")) for n in range(3)]
    fund(streams[0], fans[0], "25")
    fund(streams[1], fans[0], "10.50")
    fund(streams[1], fans[1], "4.50")
    streams.append(live("Already live"))

    preview = choose(mod_client, "cancel", streams)

    page = text(preview)
    assert "3 of the 4 chosen streams can be cancelled." in page
    assert "3 contributions (40.00 credits) are refunded to 2 contributors." in page
    assert "Type 3 to confirm" in page
    assert 'value="Cancel 3 streams"' in preview.content.decode()

    # No number, or a wrong one: the page again, nothing cancelled.
    for typed in ({}, {"confirm_count": "4"}):
        again = choose(mod_client, "cancel", streams, reason="Fraud", **typed)
        assert again.status_code == 200
        assert not LiveStream.objects.filter(status=S.CANCELLED_BY_HOST).exists()
    assert "Type 3, the number of objects this applies to." in text(again)

    response = choose(mod_client, "cancel", streams, reason="Fraud", confirm_count="3")

    assert response.status_code == 302
    assert messages_of(mod_client.get(response["Location"])) == [
        "Cancelled 3 streams. Left as they are: 1 active (only a stream that has not started"
        " can be cancelled)."
    ]
    assert LiveStream.objects.filter(status=S.CANCELLED_BY_HOST).count() == 3
    fans[0].refresh_from_db()
    assert fans[0].credit_balance == Decimal("35.50")  # given back


def test_many_refusals_of_a_service_make_one_message(mod_client, monkeypatch):
    streams = [live(f"Show {n}") for n in range(5)]

    def refuse(**kwargs):
        raise Conflict("Agora is unreachable.")

    monkeypatch.setattr(stream_actions, "livestream_end", refuse)
    response = choose(mod_client, "end_now", streams, reason="Raid")

    first = ", ".join(LiveStream.objects.order_by("pk").values_list("title", flat=True)[:3])
    assert messages_of(mod_client.get(response["Location"])) == [
        f"Nothing was changed. Not changed for {first} and 2 more: Agora is unreachable."
    ]
    assert set(LiveStream.objects.values_list("status", flat=True)) == {S.ACTIVE}


def test_a_refusal_in_turkish_is_shown_in_turkish(mod_client, monkeypatch):
    """The admin makes the service's details text in the request's language: a
    refusal wrapped in gettext_lazy (as the services' will be) reads Turkish."""
    stream = live("Konser")

    def refuse(**kwargs):
        raise Conflict(gettext_lazy("Nothing was changed."))

    monkeypatch.setattr(stream_actions, "livestream_end", refuse)
    response = mod_client.post(
        do_url(stream, "end_now"),
        {"post": "yes", "reason": "x"},
        HTTP_ACCEPT_LANGUAGE="tr",
    )
    shown = messages_of(mod_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="tr"))

    assert shown == [
        "Hiçbir şey değiştirilmedi. Konser için değişiklik yapılmadı: Hiçbir şey değiştirilmedi."
    ]


# --- On the stream's page ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "offered"),
    [
        (lambda: live(), {"end_now", "remove", "ban_user"}),
        (lambda: scheduled(), {"cancel", "remove", "ban_user"}),
        (lambda: LiveStreamFactory(status=S.ENDED), {"remove", "ban_user"}),
        (lambda: scheduled(deleted_at=timezone.now()), {"restore"}),
    ],
    ids=["active", "scheduled", "ended", "removed"],
)
def test_the_stream_page_offers_the_actions_its_status_allows(mod_client, make, offered):
    stream = make()
    html = mod_client.get(change_url(stream)).content.decode()
    shown = set(
        re.findall(
            rf'href="/admin/livestreams/livestream/{stream.pk}/do/(\w+)/" class="moderator-action"',
            html,
        )
    )
    assert shown == offered


def test_ending_from_the_stream_page_says_who_is_kicked_and_comes_back_to_it(mod_client, moderator):
    stream = live("Late jazz", viewers=3)
    guest = UserFactory(username="sax-player")
    Guest.objects.create(live_stream=stream, user=guest, has_joined=True, uid=7)

    page = mod_client.get(do_url(stream, "end_now"))

    said = text(page)
    assert "The stream ends now; nobody can join it again." in said
    assert f"Its host {stream.creator.username} is taken out of the channel." in said
    assert "Its guest in the channel is taken out too: sax-player." in said
    assert "3 viewers are watching and are taken out of the channel:" in said
    assert "late jazz-fan0" in said
    assert 'name="_selected_action"' not in page.content.decode()
    assert (
        f'href="{change_url(stream)}" class="button cancel-link">Go back' in page.content.decode()
    )

    response = mod_client.post(do_url(stream, "end_now"), {"post": "yes", "reason": "Noise"})

    assert response.status_code == 302
    assert response["Location"] == change_url(stream)
    assert messages_of(mod_client.get(response["Location"])) == ["Ended 1 stream."]
    stream.refresh_from_db()
    assert stream.status == S.ENDED
    entry = AuditEntry.objects.get(target_id=stream.pk)
    assert (entry.actor, entry.action, entry.reason) == (moderator, "end", "Noise")


def test_an_action_page_for_a_stream_it_no_longer_applies_to_does_nothing(mod_client):
    stream = LiveStreamFactory(title="Over", status=S.ENDED)

    page = mod_client.get(do_url(stream, "end_now"))

    assert "There is nothing to do" in text(page)
    assert 'type="submit"' not in page.content.decode().split('id="content-main"')[1]
    response = mod_client.post(do_url(stream, "end_now"), {"post": "yes", "reason": "x"})
    assert messages_of(mod_client.get(response["Location"])) == [
        "Nothing was changed. Left as they are: 1 ended (only a live stream can be ended)."
    ]


def test_removing_a_live_stream_says_it_ends_first_and_what_is_refunded(mod_client):
    stream = live("Scam show", viewers=2)

    said = text(mod_client.get(do_url(stream, "remove")))

    assert "A live stream is ended first." in said
    assert "2 viewers are watching and are taken out of the channel:" in said
    assert "No funding to refund." in said


def test_the_next_page_is_followed_only_on_this_site(mod_client):
    first, second = live("One"), live("Two")
    response = mod_client.post(
        do_url(first, "end_now") + f"?next={CHANGELIST}", {"post": "yes", "reason": "x"}
    )
    assert response["Location"] == CHANGELIST
    response = mod_client.post(
        do_url(second, "end_now") + "?next=https://evil.example/", {"post": "yes", "reason": "x"}
    )
    assert response["Location"] == change_url(second)


def test_an_unknown_action_is_404_and_a_non_moderator_gets_403(mod_client, db):
    stream = live()
    assert mod_client.get(do_url(stream, "explode")).status_code == 404
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_livestream", content_type__app_label="livestreams")
    )
    client = Client()
    client.force_login(viewer)
    assert client.get(do_url(stream, "end_now")).status_code == 403
    assert client.post(do_url(stream, "end_now"), {"post": "yes", "reason": "x"}).status_code == 403
    html = client.get(change_url(stream)).content.decode()
    assert "moderator-action" not in html
    assert "/do/" not in html
    stream.refresh_from_db()
    assert stream.status == S.ACTIVE


# --- Ban a participant, lift a ban -------------------------------------------------------------


def test_a_participant_is_banned_from_their_row_with_the_user_filled_in(mod_client, moderator):
    stream = live("Chat room")
    troll = UserFactory(username="troll")
    Participant.objects.create(live_stream=stream, user=troll)

    html = mod_client.get(change_url(stream)).content.decode()
    ban_url = f"{do_url(stream, 'ban_user')}?user={troll.pk}"
    assert f'href="{ban_url}"' in html
    listing = mod_client.get(reverse("admin:livestreams_participant_changelist"))
    assert f'href="{ban_url}"' in listing.content.decode()

    page = mod_client.get(ban_url)
    form = page.content.decode()
    assert f'<option value="{troll.pk}" selected>troll</option>' in form
    assert 'name="action_type" value="BLOCK"' in form and "checked" in form

    response = mod_client.post(
        ban_url,
        {"post": "yes", "user": troll.pk, "action_type": BanAction.BLOCK, "reason": "Insults"},
    )

    assert response["Location"] == change_url(stream)
    assert messages_of(mod_client.get(response["Location"])) == ["Banned the user from 1 stream."]
    ban = LiveStreamBan.objects.get(live_stream=stream, user=troll)
    assert (ban.action_type, ban.created_by, ban.reason) == (BanAction.BLOCK, moderator, "Insults")
    assert not Participant.objects.get(live_stream=stream, user=troll).is_present


def test_the_user_to_ban_is_searched_like_the_user_list(mod_client):
    UserFactory(username="trollface", email="troll@example.com")
    UserFactory(username="angel")
    response = mod_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "livestreams",
            "model_name": "livestreamban",
            "field_name": "user",
            "term": "troll",
        },
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["trollface"]


def test_a_ban_is_lifted_from_its_row_with_a_reason(mod_client, moderator):
    stream = live("Chat room")
    troll = UserFactory(username="troll")
    ban = ban_create(
        actor=moderator,
        live_stream_id=stream.pk,
        target_user_id=troll.pk,
        action_type=BanAction.CHAT_ONLY,
        reason="Rude",
    )
    lift_url = reverse("admin:livestreams_livestreamban_do", args=[ban.pk, "lift"])
    assert f'href="{lift_url}"' in mod_client.get(change_url(stream)).content.decode()
    assert (
        f'href="{lift_url}"'
        in mod_client.get(reverse("admin:livestreams_livestreamban_changelist")).content.decode()
    )

    page = mod_client.get(lift_url)
    assert "troll, banned from “Chat room” (chat only: may watch, may not chat)" in text(page)

    response = mod_client.post(lift_url, {"post": "yes", "reason": "Apologised"})

    assert messages_of(mod_client.get(response["Location"])) == ["Lifted 1 ban."]
    ban.refresh_from_db()
    assert ban.lifted_by == moderator
    assert AuditEntry.objects.get(action="unban").reason == "Apologised"
    assert f'href="{lift_url}"' not in mod_client.get(change_url(stream)).content.decode()


# --- Who cancelled -----------------------------------------------------------------------------


def test_a_moderators_cancel_is_recorded_and_shown_as_theirs(mod_client, moderator, client_for):
    by_moderator = scheduled("Moderated")
    by_host = scheduled("Host changed plans")
    mod_client.post(do_url(by_moderator, "cancel"), {"post": "yes", "reason": "Fake event"})
    response = client_for(by_host.creator).post(f"/api/v1/live-stream/{by_host.pk}/cancel")
    assert response.status_code == 200

    by_moderator.refresh_from_db()
    by_host.refresh_from_db()
    assert by_moderator.status == by_host.status == S.CANCELLED_BY_HOST  # the contract's
    assert by_moderator.cancelled_by == moderator
    assert by_host.cancelled_by == by_host.creator
    listing = mod_client.get(CHANGELIST).content.decode()
    assert listing.count("cancelled by mod") == 1
    page = mod_client.get(change_url(by_moderator))
    assert "cancelled by mod" in text(page)


# --- An action written as a method (reasoned_action), as before ---------------------------------


def test_an_action_written_as_a_method_still_asks_then_reports_once(moderator, rf):
    class Streams(ReasonedActionMixin, admin.ModelAdmin):
        pass

    model_admin = Streams(LiveStream, admin.site)
    streams = [live("One"), LiveStreamFactory(title="Two", status=S.ENDED)]
    queryset = LiveStream.objects.filter(pk__in=[s.pk for s in streams])

    def request(data):
        made = rf.post(CHANGELIST, data)
        made.user = moderator
        made.session = SessionStore()
        made._messages = FallbackStorage(made)
        return made

    def run(made):
        return model_admin.reasoned_action(
            made,
            queryset,
            title="Flag",
            apply=lambda stream, data: livestream_end(
                actor=moderator, live_stream_id=stream.pk, reason=data["reason"]
            ),
            done=lambda count: f"Flagged {count}.",
        )

    page = run(request({"action": "flag", "index": "0"}))
    page.render()
    assert "This applies to these 2 live streams:" in page.content.decode()
    made = request({"action": "flag", "post": "yes", "reason": "x"})
    assert run(made) is None
    shown = [str(m) for m in get_messages(made)]
    assert len(shown) == 1
    assert shown[0].startswith("Flagged 1. Not changed for Two: ")
