"""The event benchmark's load generator (bench/loadgen.py) and its headline
formula (bench/event.py), against a small local HTTP server: every answer is
counted under its kind, a keep-alive connection the server closed is opened again,
chunked answers are read whole, and the paced schedule follows the viewers' timers."""

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import event  # noqa: E402
import loadgen  # noqa: E402


def _run_apart(make_coroutine):
    """Runs the coroutine on a fresh loop in its own thread: a browser test earlier
    in the same worker can leave Playwright's loop running on the main thread, where
    `asyncio.run` refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as apart:
        return apart.submit(asyncio.run, make_coroutine()).result(timeout=60)


async def _server(handled: list, close_after: int):
    """Answers GET /ok (200, length), /chunked (200, chunked), anything else 404;
    closes each connection after `close_after` requests, as an idle keep-alive end."""

    async def handle(reader, writer):
        served = 0
        while served < close_after:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1]
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length) if length else b""
            handled.append((path, body))
            served += 1
            if path == b"/ok":
                writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n{"data": {"n": 1}}')
            elif path == b"/chunked":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b'5\r\n{"dat\r\n8\r\na": null\r\n1\r\n}\r\n0\r\n\r\n'
                )
            else:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_closed_slices_count_each_kind_and_reconnect():
    async def run():
        handled = []
        server = await _server(handled, close_after=3)
        port = server.sockets[0].getsockname()[1]
        load = loadgen.Load("127.0.0.1", port, connections=2)
        requests = [loadgen.Request("ok", "GET", "/ok", "Bearer x", None, True)] * 10
        requests += [loadgen.Request("chunked", "POST", "/chunked", "Bearer y", b"{}", True)] * 4
        requests += [loadgen.Request("missing", "GET", "/missing", "Bearer z")] * 3
        stats = await load.closed(requests, concurrency=2, ramp=4)
        load.close()
        server.close()
        return stats, handled

    stats, handled = _run_apart(run)
    assert (stats["ok"].ok, stats["ok"].errors) == (10, 0)
    assert stats["ok"].bodies == [{"data": {"n": 1}}] * 10
    assert stats["chunked"].bodies == [{"data": None}] * 4
    assert (stats["missing"].not_ok, stats["missing"].statuses) == (3, {404: 3})
    assert stats["missing"].first_error == "nope"
    assert len(handled) == 17  # each request once, though connections were closed
    assert (b"/chunked", b"{}") in handled
    merged = loadgen.merge(stats)
    assert merged["ok"].requests == 10 and merged["ok"].percentile(99) > 0


def test_percentiles_are_nearest_rank():
    stats = loadgen.Stats(latencies_us=list(range(1, 101)))
    assert (stats.percentile(50), stats.percentile(99), stats.percentile(100)) == (50, 99, 100)


def test_the_paced_schedule_follows_the_timers():
    tokens = [f"Bearer {n}" for n in range(10)]
    plan = event.schedule("s1", tokens, viewers=30)
    kinds = [request.kind for _t, request in plan]
    seconds = event.PACED_SECONDS
    # 30 viewers: a count poll every 10 s and a stream read every 30 s each.
    assert kinds.count("viewer-count") == 30 * seconds // 10
    assert kinds.count("detail") == 30 * seconds // 30
    assert [t for t, _r in plan] == sorted(t for t, _r in plan)
    assert all(0 <= t < seconds for t, _r in plan)


def test_viewers_per_core_is_one_second_of_cpu_over_a_viewers_cost():
    per_kind = {
        kind: {"cpu_ms": {"app": 3.0, "db": 0.5}} for kind in ("viewer-count", "detail", "join")
    }
    v = event.viewers_per_core(per_kind)
    cost = 3.0 * (event.REAL_RATES["viewer-count"] + event.REAL_RATES["detail"])
    cost += 3.0 * event.REAL_RATES["join"]
    assert abs(v["app_ms_per_viewer_s"] - cost) < 1e-9
    assert abs(v["viewers"] - 1000 / cost) < 1e-6
