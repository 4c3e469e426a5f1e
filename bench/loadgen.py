"""The event benchmarks' load: virtual viewers over keep-alive HTTP/1.1 connections,
on asyncio and plain sockets (no HTTP library: a request costs the load about a
tenth of a millisecond of CPU, measured and reported next to the server's).

wrk measures one kind of request per run well, but its Lua `response()` is not
told which request it answers, so a mixed run cannot give each kind its own
latencies, and a viewer's requests cannot follow each other (a rejoin after its
leave). Here every request is timed from the moment it is due to its last byte
(time spent waiting for a free connection counts: no coordinated omission), and
recorded under its kind.

Two ways to play a slice of the event:
  closed(...)  each request of the list as soon as a connection is free, at most
               `concurrency` at once (a burst, like wrk -c), optionally ramping the
               number in flight up from 1 over the first `ramp` requests;
  paced(...)   an open-loop schedule: each request at its own time (viewers'
               polling timers), whatever the answers take.
"""

import asyncio
import json
import time
from dataclasses import dataclass, field


@dataclass
class Request:
    kind: str
    method: str
    path: str
    auth: str
    body: bytes | None = None
    keep_body: bool = False  # store the answer's JSON (a viewer count, a price)


@dataclass
class Stats:
    """The answers of one kind of request in one slice."""

    latencies_us: list = field(default_factory=list)
    ok: int = 0
    not_ok: int = 0
    statuses: dict = field(default_factory=dict)
    socket_errors: int = 0
    first_error: str = ""
    bodies: list = field(default_factory=list)

    @property
    def requests(self) -> int:
        return self.ok + self.not_ok + self.socket_errors

    @property
    def errors(self) -> int:
        return self.not_ok + self.socket_errors

    def percentile(self, p: float) -> float:
        if not self.latencies_us:
            return 0.0
        ordered = sorted(self.latencies_us)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    def summary(self) -> dict:
        n = len(self.latencies_us)
        return {
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "statuses": self.statuses,
            "socket_errors": self.socket_errors,
            "first_error": self.first_error,
            "p50": self.percentile(50),
            "p95": self.percentile(95),
            "p99": self.percentile(99),
            "max": max(self.latencies_us) if n else 0.0,
            "mean": sum(self.latencies_us) / n if n else 0.0,
        }


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.used_at = 0.0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, request: Request, host_header: str) -> tuple[int, bytes]:
        """One request and its answer: (status, body). A keep-alive connection the
        server closed while idle is opened again once."""
        for attempt in range(2):
            fresh = self.writer is None
            if fresh:
                await self.open()
            head = (
                f"{request.method} {request.path} HTTP/1.1\r\nHost: {host_header}\r\n"
                f"Authorization: {request.auth}\r\nAccept: application/json\r\n"
            )
            if request.body is not None:
                head += f"Content-Type: application/json\r\nContent-Length: {len(request.body)}\r\n"
            self.writer.write(head.encode() + b"\r\n" + (request.body or b""))
            try:
                await self.writer.drain()
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed by the server")
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if fresh or attempt:
                    raise
                continue  # an idle keep-alive connection the server had closed
            return await self._rest(status_line)
        raise AssertionError("unreachable")

    async def _rest(self, status_line: bytes) -> tuple[int, bytes]:
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readline()).strip().split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                body += await self.reader.readexactly(size)
                await self.reader.readline()
        else:
            body = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        self.used_at = time.monotonic()
        return status, body


class Load:
    """A pool of keep-alive connections to one address, and the stats per kind."""

    def __init__(self, host: str, port: int, connections: int, host_header: str = "localhost"):
        self.host, self.port, self.host_header = host, port, host_header
        self.pool: asyncio.Queue = asyncio.Queue()
        for _ in range(connections):
            self.pool.put_nowait(Connection(host, port))

    async def one(self, request: Request, due: float, stats: dict) -> None:
        kind = stats.setdefault(request.kind, Stats())
        connection = await self.pool.get()
        try:
            status, body = await connection.send(request, self.host_header)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            connection.close()
            kind.socket_errors += 1
            if not kind.first_error:
                kind.first_error = f"{type(exc).__name__}: {exc}"
            return
        finally:
            self.pool.put_nowait(connection)
        kind.latencies_us.append((time.monotonic() - due) * 1e6)
        if 200 <= status < 300:
            kind.ok += 1
            if request.keep_body:
                kind.bodies.append(json.loads(body))
        else:
            kind.not_ok += 1
            kind.statuses[status] = kind.statuses.get(status, 0) + 1
            if not kind.first_error:
                kind.first_error = body[:300].decode(errors="replace")

    async def closed(self, requests: list, concurrency: int, ramp: int = 0) -> dict:
        """Every request as soon as one of `concurrency` lanes is free; lane k starts
        once k * ramp / concurrency requests have started (a ramp from 1 lane)."""
        stats: dict = {}
        queue = iter(requests)
        started = 0
        step = ramp / concurrency if ramp else 0

        async def lane(k: int) -> None:
            nonlocal started
            while step and started < k * step:
                await asyncio.sleep(0.01)
            for request in queue:
                started += 1
                await self.one(request, time.monotonic(), stats)

        await asyncio.gather(*(lane(k) for k in range(concurrency)))
        return stats

    async def paced(self, schedule: list) -> dict:
        """`schedule`: (seconds from now, Request), sorted. Each request is due at its
        time and is sent then (or as soon as a connection is free)."""
        stats: dict = {}
        start = time.monotonic()
        tasks = []
        for offset, request in schedule:
            due = start + offset
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(self.one(request, due, stats)))
        await asyncio.gather(*tasks)
        return stats

    def close(self) -> None:
        while not self.pool.empty():
            self.pool.get_nowait().close()


def merge(*parts: dict) -> dict:
    """Stats of several slices, per kind, as one."""
    merged: dict = {}
    for part in parts:
        for kind, s in part.items():
            m = merged.setdefault(kind, Stats())
            m.latencies_us += s.latencies_us
            m.ok += s.ok
            m.not_ok += s.not_ok
            m.socket_errors += s.socket_errors
            m.bodies += s.bodies
            for status, n in s.statuses.items():
                m.statuses[status] = m.statuses.get(status, 0) + n
            m.first_error = m.first_error or s.first_error
    return merged
