"""What the property tests check after each request: a refusal changed nothing; an
acceptance can be read back everywhere a client or a moderator would look."""

import json
from datetime import datetime

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.api import assert_envelope
from tests.helpers import world_snapshot as snapshot

# Every status a refusal may have (never a 5xx, never a 2xx that wrote nothing).
REFUSALS = {400, 403, 404, 409, 413, 415}


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def post_json(client, url: str, body, method: str = "POST"):
    return client.generic(method, url, json.dumps(body), content_type="application/json")


class Outcome:
    """The world before a request, to compare with after a refusal."""

    def __init__(self, media_files) -> None:
        self.before = snapshot()
        self.files_before = media_files()
        self.media_files = media_files

    def refused(self, response) -> None:
        assert response.status_code in REFUSALS, (response.status_code, response.content[:500])
        body = response.json()
        assert body["isSuccess"] is False and body["data"] is None
        self.refused_in_the_admin()

    def refused_in_the_admin(self) -> None:
        """A form shown again with its errors (or an action that changed nothing)."""
        assert snapshot() == self.before, "a refused request changed something"
        assert self.media_files() == self.files_before, "a refused request left a file"


def parse_timestamp(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def same_to_the_millisecond(sent: datetime | None, shown: str | None) -> bool:
    if sent is None or shown is None:
        return sent is None and shown is None
    difference = abs((parse_timestamp(shown) - sent).total_seconds())
    return difference < 0.001


def read_stream_everywhere(client, admin_client, stream_id: str) -> dict:
    """The stream through its page, the lists (each filter it matches) and the
    admin's list and page: every answer a 200. Returns the stream's page."""
    shown = assert_envelope(client.get(f"/api/v1/live-stream/{stream_id}"), 200)
    for query in (
        "",
        f"?creator={shown['creator']['_id']}",
        f"?status={shown['status']}",
        *([f"?interest={shown['interest']}"] if shown["interest"] else []),
    ):
        listed = assert_envelope(
            client.get(
                f"/api/v1/live-stream{query}&limit=100"
                if query
                else "/api/v1/live-stream?limit=100"
            ),
            200,
        )
        if query.startswith("?creator"):
            # An array (API-more §14), its totals in the headers.
            assert stream_id in [s["id"] for s in listed]
    assert admin_client.get("/admin/livestreams/livestream/").status_code == 200
    assert admin_client.get(f"/admin/livestreams/livestream/?q={stream_id}").status_code == 200
    page = admin_client.get(f"/admin/livestreams/livestream/{stream_id}/change/")
    assert page.status_code == 200
    assert admin_client.get("/admin/livestreams/livestream/funding/").status_code == 200
    return shown
