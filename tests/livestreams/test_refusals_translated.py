"""Service refusals go through gettext (issue 14): a moderator whose browser
speaks Turkish reads them in Turkish; the API answers in the contract's English
whatever the app's Accept-Language says."""

import pytest
from django.utils import translation
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from allmine.core.errors import Conflict, NotFound
from livestreams.lifecycle import LiveStreamStatus
from livestreams.services.moderation import livestream_end, livestream_restore
from tests.api import assert_envelope
from tests.factories import LiveStreamFactory, UserFactory

pytestmark = pytest.mark.django_db

S = LiveStreamStatus


def test_a_lifecycle_refusal_reads_turkish_under_turkish(moderator):
    stream = LiveStreamFactory(status=S.ENDED)

    with translation.override("tr"), pytest.raises(Conflict) as refused:
        livestream_end(actor=moderator, live_stream_id=stream.pk)

    assert refused.value.details == [
        "Bu canlı yayın ended durumunda; yalnızca canlı bir yayın sonlandırılabilir."
    ]


def test_a_service_refusal_reads_turkish_under_turkish(moderator):
    stream = LiveStreamFactory(status=S.ENDED)

    with translation.override("tr"), pytest.raises(Conflict) as refused:
        livestream_restore(actor=moderator, live_stream_id=stream.pk, reason="x")
    assert refused.value.details == ["Bu canlı yayın kaldırılmamış."]

    with translation.override("tr"), pytest.raises(NotFound) as missing:
        livestream_restore(actor=moderator, live_stream_id="0" * 24, reason="x")
    assert missing.value.details == ["Bu kimliğe sahip bir canlı yayın yok."]


def test_the_api_answers_english_to_a_turkish_app():
    creator = UserFactory()
    stream = LiveStreamFactory(creator=creator, status=S.ENDED)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(creator)}")

    response = client.post(f"/api/v1/live-stream/{stream.pk}/end", HTTP_ACCEPT_LANGUAGE="tr")

    assert assert_envelope(response, 409)[1:] == [
        "This live stream is ended; only an active stream can be ended."
    ]
