"""A write and the reads its response needs share one transaction: a database
failure while building the response undoes the write, so the client's retry can
never pay twice."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.utils import timezone

from accounts.models import CreditTransaction
from livestreams.models import Contribution, LiveStream, Participant
from livestreams.services import audience, broadcasting, creation, moderation, money
from tests.api import assert_error
from tests.factories import LiveStreamFactory, UserFactory


@pytest.fixture
def failing_response_reads(monkeypatch):
    def fail(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    for module in (broadcasting, creation, moderation, money):
        monkeypatch.setattr(module, "prepare_for_viewer", fail)
    # The audience join reads what its response needs before it writes (the cached
    # snapshot, the caller's flags) and builds the caller's part of the stream
    # then too: a failure there leaves nothing written.
    monkeypatch.setattr(audience, "caller_view", fail)


@pytest.mark.django_db
def test_a_fund_whose_response_fails_is_undone(client_for, failing_response_reads):
    stream = LiveStreamFactory(
        status="scheduled",
        planned_start_date=timezone.now() + timedelta(days=1),
        funding_goal=Decimal("100"),
    )
    funder = UserFactory(credits="50")
    entries = CreditTransaction.objects.count()

    response = client_for(funder).post(
        f"/api/v1/live-stream/{stream.pk}/fund", {"amount": 10}, format="json"
    )

    assert_error(response, 503)
    funder.refresh_from_db()
    assert funder.credit_balance == Decimal("50.00")
    assert CreditTransaction.objects.count() == entries
    assert not Contribution.objects.exists()
    assert LiveStream.objects.get(pk=stream.pk).collected_funding == 0


@pytest.mark.django_db
def test_a_paid_join_whose_response_fails_is_undone(client_for, failing_response_reads):
    stream = LiveStreamFactory(status="active", price=Decimal("5"))
    viewer = UserFactory(credits="50")
    entries = CreditTransaction.objects.count()

    response = client_for(viewer).post(
        "/api/v1/live-stream/join", {"liveStreamId": stream.pk}, format="json"
    )

    assert_error(response, 503)
    viewer.refresh_from_db()
    assert viewer.credit_balance == Decimal("50.00")
    assert CreditTransaction.objects.count() == entries
    assert not Participant.objects.exists()
