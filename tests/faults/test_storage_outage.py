"""The object store failing during a create with a thumbnail: a 503 in the
envelope, no stream row and no orphan object; and the store coming back is
picked up by the same gunicorn.

The store is moto's S3 server, run in this process (tests/faults/services.py)."""

import logging
import time

import pytest

from tests.faults.services import MotoS3, started_gunicorn
from tests.faults.support import (
    blocked_backend,
    call,
    envelope_of,
    in_background,
    inserts_held,
    jpeg,
    scalar,
)

BUCKET = "allmine-faults-media"
# With the store down, a create is refused after the S3 client's own retries;
# it must not hang.
SLOWEST_SECONDS = 30


@pytest.fixture(scope="module")
def moto():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request
    store = MotoS3(BUCKET)
    store.start()
    try:
        store.client.create_bucket(Bucket=BUCKET)
        yield store
    finally:
        store.stop()


@pytest.fixture(scope="module")
def s3_server(app_env, seed, fault_folder, moto):
    """A second gunicorn, on the same database, with its media on S3 (moto)."""
    server = started_gunicorn({**app_env, **moto.app_env()}, fault_folder, "s3")
    try:
        yield server
    finally:
        server.stop()


def _create(server, creator: dict, title: str):
    return call(
        server,
        "POST",
        "/api/v1/live-stream/create",
        token=creator["token"],
        data={"title": title},
        files={"thumbnail": ("thumbnail.jpg", jpeg(), "image/jpeg")},
        timeout=SLOWEST_SECONDS + 30,
    )


def _streams_of(pg, creator: dict) -> int:
    return scalar(
        pg, "SELECT count(*) FROM livestreams_livestream WHERE creator_id = %s", creator["id"]
    )


def test_a_create_while_the_object_store_is_down_is_refused_and_leaves_nothing(
    s3_server, moto, seed, pg
):
    first, second = seed["users"]["creator1"], seed["users"]["creator2"]
    # The store up: the thumbnail is stored in the bucket (so the checks below can fail).
    before = moto.keys()
    created = envelope_of(_create(s3_server, first, "Stored thumbnail"), 201)
    stored = moto.keys() - before
    assert stored == {f"thumbnails/{created['id']}.jpg"}
    assert created["thumbnailUrl"].endswith(f"/{BUCKET}/thumbnails/{created['id']}.jpg")
    before = moto.keys()

    moto.stop()
    try:
        started = time.monotonic()
        refused = _create(s3_server, second, "No store")
        took = time.monotonic() - started
        errors = envelope_of(refused, 503)
        assert errors[1:] == ["The file storage is unavailable; try again shortly."]
        assert took < SLOWEST_SECONDS
        assert _streams_of(pg, second) == 0
        # The health check reports the store, and still answers 200 on the database.
        health = envelope_of(call(s3_server, "GET", "/api/v1/health", timeout=60), 200)
        assert (health["database"], health["storage"]) == ("ok", "unavailable")
    finally:
        moto.start()

    assert moto.keys() == before  # no object from the refused create
    # The store back: the same server stores again.
    created = envelope_of(_create(s3_server, second, "Store back"), 201)
    assert moto.keys() - before == {f"thumbnails/{created['id']}.jpg"}
    assert _streams_of(pg, second) == 1


def test_a_create_failing_after_its_thumbnail_was_stored_removes_the_object(
    s3_server, moto, seed, pg, postgres
):
    """The thumbnail is in the bucket when the database connection is lost before
    the stream row is written: the create is refused and the object removed."""
    creator = seed["users"]["creator3"]
    before = moto.keys()
    with inserts_held(postgres, "livestreams_livestream") as holder_pid:
        thread, outcome = in_background(lambda: _create(s3_server, creator, "Lost connection"))
        backend_pid, _port = blocked_backend(pg, holder_pid)
        uploaded = moto.keys() - before
        assert len(uploaded) == 1 and next(iter(uploaded)).startswith("thumbnails/"), uploaded
        assert scalar(pg, "SELECT pg_terminate_backend(%s)", backend_pid) is True
        thread.join(timeout=SLOWEST_SECONDS + 30)
        assert not thread.is_alive()

    assert "response" in outcome, outcome.get("error")
    envelope_of(outcome["response"], 503)
    assert _streams_of(pg, creator) == 0
    assert moto.keys() == before
    # The server's next request gets a fresh database connection.
    envelope_of(_create(s3_server, creator, "Reconnected"), 201)
    assert _streams_of(pg, creator) == 1
