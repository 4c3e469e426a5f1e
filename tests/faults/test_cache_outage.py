"""Redis (the shared cache behind throttling) stopped and started again: the API
keeps serving without it, throttling fails open, and both come back by
themselves, without restarting gunicorn."""

import time
from concurrent.futures import ThreadPoolExecutor

from tests.faults.services import THROTTLES
from tests.faults.support import call, envelope_of, wait_for

LIMIT = int(THROTTLES["THROTTLE_LOGIN"].split("/")[0])
# Over twice the limit: even split across two rate windows, one of them overflows.
BURST = 2 * LIMIT + 1
# Without Redis a request must not wait for it: the cache's socket timeouts are
# 0.5 s, so this is generous (a sign-in also hashes a password).
SLOWEST_SECONDS = 5


def _login_burst(server, seed) -> list:
    user = seed["users"]["redis"]
    body = {"login": user["username"], "password": seed["password"]}
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        return list(
            pool.map(
                lambda _n: call(server, "POST", "/api/v1/auth/login", json=body, timeout=30),
                range(BURST),
            )
        )


def _timed(request):
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


def _health(server) -> dict:
    return envelope_of(call(server, "GET", "/api/v1/health"), 200)


def _join(server, seed):
    user = seed["users"]["redis"]
    return call(
        server,
        "POST",
        "/api/v1/live-stream/join",
        token=user["token"],
        json={"liveStreamId": seed["paidStream"]["id"]},
    )


def test_without_redis_the_api_serves_and_throttling_fails_open(server, redis_server, seed):
    assert LIMIT <= 3, "the burst below assumes a low sign-in limit"
    # Redis up: the cache is reported, the sign-in limit holds.
    assert _health(server)["cache"] == "ok"
    envelope_of(_join(server, seed), 200)
    burst = _login_burst(server, seed)
    statuses = sorted(r.status_code for r in burst)
    assert statuses.count(429) >= BURST - 2 * LIMIT and set(statuses) == {200, 429}, statuses
    refused = next(r for r in burst if r.status_code == 429)
    envelope_of(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0

    redis_server.stop()
    try:
        # The cache is reported unavailable; the database is what health requires.
        health, took = _timed(lambda: call(server, "GET", "/api/v1/health"))
        data = envelope_of(health, 200)
        assert (data["database"], data["cache"]) == ("ok", "unavailable"), data
        assert took < SLOWEST_SECONDS
        # Joins and sign-ins are served, promptly; no sign-in is refused.
        for _attempt in range(3):
            joined, took = _timed(lambda: _join(server, seed))
            assert envelope_of(joined, 200)["liveStream"]["id"] == seed["paidStream"]["id"]
            assert took < SLOWEST_SECONDS
        started = time.monotonic()
        burst = _login_burst(server, seed)
        assert [r.status_code for r in burst] == [200] * BURST
        for response in burst:
            assert envelope_of(response, 200)["accessToken"]
        assert time.monotonic() - started < SLOWEST_SECONDS * 2
    finally:
        redis_server.start()

    # Redis back (empty, as after a crash): the cache and the limit come back by
    # themselves, in the same gunicorn.
    wait_for(lambda: _health(server)["cache"] == "ok", seconds=10, message="the cache is back")
    envelope_of(_join(server, seed), 200)
    statuses = sorted(r.status_code for r in _login_burst(server, seed))
    assert statuses.count(429) >= BURST - 2 * LIMIT and set(statuses) == {200, 429}, statuses
