"""`load_demo_data`: made through the services, and idempotent; the live room
has viewers, gifts, an open report and a reminder of the funded stream."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import CreditTransaction, User
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    Gift,
    GiftType,
    LiveStream,
    Participant,
    ReportStatus,
    StreamReminder,
    StreamReport,
)


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            User,
            LiveStream,
            Participant,
            GiftType,
            Gift,
            StreamReport,
            StreamReminder,
            CreditTransaction,
        )
    }


@pytest.fixture
def moderators_group(db):
    Group.objects.get_or_create(name="Moderators")


@pytest.mark.django_db
def test_the_demo_has_a_live_room_and_runs_twice_harmlessly(moderators_group, media_root):
    call_command("load_demo_data", stdout=StringIO())

    live = LiveStream.objects.get(title="Canlı oyun gecesi")
    assert live.status == LiveStreamStatus.ACTIVE
    viewers = Participant.objects.filter(live_stream=live, is_present=True)
    assert set(viewers.values_list("user__username", flat=True)) == {"demo_fan", "demo_viewer"}
    assert live.__class__.objects.get(pk=live.pk).peak_viewers == 2
    assert GiftType.objects.filter(is_active=True).count() == 3
    assert Gift.objects.filter(live_stream=live, sender__username="demo_fan").count() == 2
    report = StreamReport.objects.get(live_stream=live)
    assert (report.status, report.reporter.username) == (ReportStatus.OPEN, "demo_fan")
    assert StreamReminder.objects.filter(user__username="demo_viewer").count() == 1
    assert CreditTransaction.objects.filter(kind="gift_revenue", user=live.creator).exists()
    before = counts()

    out = StringIO()
    call_command("load_demo_data", stdout=out)

    assert counts() == before
    assert "(0 objects created)" in out.getvalue()


def test_the_demo_is_never_loaded_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("load_demo_data", stdout=StringIO())
