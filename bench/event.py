# ruff: noqa: S603, S607  (a harness: it runs gunicorn, HAProxy, Celery and its own scripts)
"""A live event at scale (issue 13): `python bench/run.py event` and `... nodes`.

The event, for each audience already in (10, then 50,000 by default), on one paid
active stream: N viewers (5,000) join over a ramp, then watch: the viewer count is
polled three times by every viewer (every 10 s of a 30 s watch), a tenth leave and
rejoin, every viewer renews its tokens once and reads the stream once (every 30 s);
then a paced phase plays the real polling timers of as many viewers as one app core
should carry (the headline), and the creator ends the stream. The slices run one
kind of request at a time (each at most `--concurrency` in flight, as fast as the
server answers), so that the CPU of the gunicorn workers and of PostgreSQL, read
from /proc between slices, is the CPU of that kind. The load: loadgen.py.

`nodes`: the same event through HAProxy to one gunicorn, then to two (different
ports, same PostgreSQL and Redis), with a Celery worker on Redis db 9 and the
local Agora stand-in (tests/agora_standin.py), so that ending a stream sends its
kicking rule through the worker; during the two-node event a moderator changes a
stream's price through the admin of node A and node B is polled until it shows it.
"""

import asyncio
import http.client
import os
import random
import re
import resource
import secrets
import shutil
import signal
import subprocess
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

import loadgen
from harness import (
    BENCH,
    BIG_AUDIENCE,
    CONCURRENCY,
    PYTHON,
    ROOT,
    SMALL_AUDIENCE,
    Environment,
    _cpu_seconds,
    _cpu_used,
    _load,
    finish,
    free_port,
    log,
    machine,
)

DATA = BENCH / "event_data.py"
PRICE, CREDITS = "5", "100"
LEAVE_SHARE = 0.1
PAID_SHARE = 0.1  # viewers who also join a paid stream (every 10th, from the 6th)
COUNT_ROUNDS = 3  # the slices below send three rounds
WATCH_SECONDS = 30  # the compressed watch: 3 count polls (10 s), 1 stream read (30 s)
PACED_SECONDS = int(os.environ.get("BENCH_PACED_SECONDS", "30"))
PACED_CONNECTIONS = 64
P99_TARGET_MS = 250
WARMUP_VIEWERS = 300
# The real rates of one viewer (requests a second), for the headline: the
# contract's polling timers, a token renewed a minute before it expires, and, over
# an event of an hour, one join, and a tenth leaving and rejoining once.
EVENT_HOURS = 1
TOKEN_TTL = int(os.environ.get("AGORA_TOKEN_TTL", "3600"))
REAL_RATES = {
    "viewer-count": 1 / 10,
    "detail": 1 / 30,
    "renew": 1 / (TOKEN_TTL - 60),
    "join": 1 / (3600 * EVENT_HOURS),
    "leave": LEAVE_SHARE / (3600 * EVENT_HOURS),
    "rejoin": LEAVE_SHARE / (3600 * EVENT_HOURS),
}
# gunicorn replaces a worker after max_requests (5,000 + jitter): its PostgreSQL
# backend ends with it, and /proc no longer shows what that backend spent. An event
# sends tens of thousands of requests, so the event benchmarks keep their workers.
NO_RECYCLING = {"GUNICORN_MAX_REQUESTS": "0"}
KINDS = ["join", "join-paid", "viewer-count", "leave", "rejoin", "renew", "detail", "end"]
API = "/api/v1/live-stream"


# --- Requests ------------------------------------------------------------------------


def _body(stream: str) -> bytes:
    return f'{{"liveStreamId": "{stream}"}}'.encode()


def join(stream, auth, kind="join"):
    return loadgen.Request(kind, "POST", f"{API}/join", auth, _body(stream))


def count(stream, auth, keep=False):
    return loadgen.Request("viewer-count", "GET", f"{API}/{stream}/viewer-count", auth, None, keep)


def detail(stream, auth):
    return loadgen.Request("detail", "GET", f"{API}/{stream}", auth)


def renew(stream, auth):
    return loadgen.Request("renew", "POST", f"{API}/renew-token", auth, _body(stream))


def leave(stream, auth):
    return loadgen.Request("leave", "POST", f"{API}/leave", auth, _body(stream))


def end(stream, auth):
    return loadgen.Request("end", "POST", f"{API}/{stream}/end", auth, b"{}")


# --- CPU between slices ----------------------------------------------------------------


class Meter:
    """CPU seconds of the app (every gunicorn), PostgreSQL (the benchmark database's
    backends), the load (this process) and any other process named (HAProxy, the
    Celery worker and its children), between two points."""

    def __init__(self, env: Environment, others: dict | None = None):
        self.env, self.others = env, others or {}

    def snap(self) -> dict:
        cpu = self.env.cpu_snapshot()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu["load"] = {"self": usage.ru_utime + usage.ru_stime}
        for name, pid in self.others.items():
            pids = [pid, *_children(pid)]
            cpu[name] = {p: _cpu_seconds(p) for p in pids}
        cpu["t"] = time.monotonic()
        return cpu

    @staticmethod
    def used(before: dict, after: dict) -> dict:
        spent = {k: _cpu_used(before[k], after[k]) for k in after if k != "t"}
        spent["seconds"] = after["t"] - before["t"]
        return spent


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


async def _slice(load, meter, name, requests, concurrency, ramp=0, schedule=None) -> dict:
    before = await asyncio.to_thread(meter.snap)
    if schedule is not None:
        stats = await load.paced(schedule)
    else:
        stats = await load.closed(requests, concurrency, ramp)
    after = await asyncio.to_thread(meter.snap)
    log(
        f"  {name}: " + ", ".join(f"{k} {s.requests} ({s.errors} errors)" for k, s in stats.items())
    )
    return {"name": name, "stats": stats, "cpu": Meter.used(before, after)}


# --- One event ---------------------------------------------------------------------------


async def play_event(address, meter, setup, tokens, concurrency, headline=None, probe=None) -> dict:
    """The event's slices against `address` (host, port); `setup` is the event
    step's result; `probe` a coroutine run alongside the watch (nodes)."""
    stream, n = setup["stream"], len(tokens)
    load = loadgen.Load(*address, connections=concurrency)
    leavers = set(range(0, n, round(1 / LEAVE_SHARE)))
    stay = [t for i, t in enumerate(tokens) if i not in leavers]
    away = [tokens[i] for i in sorted(leavers)]
    slices = []
    slices.append(
        await _slice(
            load, meter, "join (ramp)", [join(stream, t) for t in tokens], concurrency, n // 10
        )
    )
    payers = [t for i, t in enumerate(tokens) if i % round(1 / PAID_SHARE) == 5]
    slices.append(
        await _slice(
            load,
            meter,
            "join (paid)",
            [join(setup["paid_stream"], t, "join-paid") for t in payers],
            concurrency,
        )
    )
    probe_task = asyncio.create_task(probe) if probe is not None else None
    slices.append(
        await _slice(load, meter, "count 1", [count(stream, t) for t in tokens], concurrency)
    )
    slices.append(await _slice(load, meter, "leave", [leave(stream, t) for t in away], concurrency))
    slices.append(
        await _slice(load, meter, "count 2", [count(stream, t) for t in stay], concurrency)
    )
    slices.append(
        await _slice(load, meter, "rejoin", [join(stream, t, "rejoin") for t in away], concurrency)
    )
    slices.append(
        await _slice(load, meter, "renew", [renew(stream, t) for t in tokens], concurrency)
    )
    slices.append(
        await _slice(
            load, meter, "count 3", [count(stream, t, keep=True) for t in tokens], concurrency
        )
    )
    slices.append(
        await _slice(load, meter, "detail", [detail(stream, t) for t in tokens], concurrency)
    )
    probed = await probe_task if probe_task is not None else None
    load.close()
    per_kind = per_kind_costs(slices)
    paced = []
    if headline is not False:
        viewers = viewers_per_core(per_kind)["viewers"]
        for share in (1.0, 0.6):
            v = max(10, int(viewers * share))
            log(f"  paced watch: {v:,} viewers' timers for {PACED_SECONDS} s")
            paced_load = loadgen.Load(*address, connections=PACED_CONNECTIONS)
            s = await _slice(
                paced_load, meter, "paced", None, 0, schedule=schedule(stream, tokens, v)
            )
            paced_load.close()
            s["viewers"], s["share"] = v, share
            paced.append(s)
            if all_kinds(s["stats"]).percentile(99) / 1000 < P99_TARGET_MS:
                break
    load = loadgen.Load(*address, connections=1)
    slices.append(await _slice(load, meter, "end", [end(stream, setup["creator_token"])], 1))
    load.close()
    per_kind = per_kind_costs(slices)
    third = next(s for s in slices if s["name"] == "count 3")["stats"]["viewer-count"].bodies
    counts = sorted({b["data"]["viewerCount"] for b in third})
    return {
        "slices": slices,
        "per_kind": per_kind,
        "paced": paced,
        "counts_seen": counts,
        "expected_count": setup["existing"] + n,
        "probe": probed,
    }


def all_kinds(stats: dict) -> loadgen.Stats:
    return loadgen.merge(*({"all": s} for s in stats.values()))["all"]


def per_kind_costs(slices: list) -> dict:
    """Per kind: its answers over every slice that sent it, the wall seconds and CPU
    of those slices, per request."""
    out = {}
    for kind in KINDS:
        mine = [s for s in slices if kind in s["stats"] and len(s["stats"]) == 1]
        if not mine:
            continue
        stats = loadgen.merge(*(s["stats"] for s in mine))[kind]
        seconds = sum(s["cpu"]["seconds"] for s in mine)
        n = max(1, stats.requests)
        cpu = {
            part: 1000 * sum(s["cpu"].get(part, 0.0) for s in mine) / n
            for part in mine[0]["cpu"]
            if part != "seconds"
        }
        out[kind] = {**stats.summary(), "rps": stats.requests / seconds, "cpu_ms": cpu}
    return out


def viewers_per_core(per_kind: dict) -> dict:
    """One viewer costs sum(rate_k x app CPU per request_k) ms of app CPU a second;
    one core has 1,000 ms a second."""
    app = sum(REAL_RATES[k] * per_kind[k]["cpu_ms"]["app"] for k in REAL_RATES if k in per_kind)
    db = sum(REAL_RATES[k] * per_kind[k]["cpu_ms"]["db"] for k in REAL_RATES if k in per_kind)
    rate = sum(REAL_RATES.values())
    return {"app_ms_per_viewer_s": app, "db_ms_per_viewer_s": db, "viewers": 1000 / app,
            "requests_per_viewer_s": rate}  # fmt: skip


def schedule(stream: str, tokens: list, viewers: int) -> list:
    """The real timers of `viewers` watching viewers for PACED_SECONDS: a count poll
    every 10 s and a stream read every 30 s from a random phase, and token renewals
    at their real rate (one per viewer per TTL - 60 s); tokens are reused when there
    are more viewers than tokens."""
    rng = random.Random(13)  # noqa: S311  (a reproducible schedule, not a secret)
    plan = []
    for i in range(viewers):
        auth = tokens[i % len(tokens)]
        for period, make in ((10.0, count), (30.0, detail)):
            t = rng.uniform(0, period)
            while t < PACED_SECONDS:
                plan.append((t, make(stream, auth)))
                t += period
    renewals = round(viewers * PACED_SECONDS * REAL_RATES["renew"])
    for _ in range(renewals):
        plan.append((rng.uniform(0, PACED_SECONDS), renew(stream, rng.choice(tokens))))
    plan.sort(key=lambda p: p[0])
    return plan


# --- The price probe (nodes) -------------------------------------------------------------


class Browser:
    """A moderator's browser on one node's admin: cookies and CSRF, http.client."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method, path, form=None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": "localhost"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        text = response.read().decode(errors="replace")
        conn.close()
        return response.status, text

    def csrf(self, path) -> str:
        status, page = self.request("GET", path)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or not found:
            raise SystemExit(f"admin {path}: {status}, no CSRF token")
        return found.group(1)

    def login(self, username, password) -> None:
        token = self.csrf("/admin/login/")
        status, _ = self.request(
            "POST",
            "/admin/login/",
            {"username": username, "password": password, "csrfmiddlewaretoken": token,
             "next": "/admin/"},
        )  # fmt: skip
        if status != 302:
            raise SystemExit(f"admin login on port {self.port}: {status}")

    def set_price(self, stream: str, price: str, token: str) -> int:
        status, _ = self.request(
            "POST",
            "/admin/livestreams/livestream/",
            {"csrfmiddlewaretoken": token, "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1",
             "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000", "form-0-id": stream,
             "form-0-price": price, "form-0-replay_credit_price": "", "_save": "Save"},
        )  # fmt: skip
        return status


def price_probe(port_a, port_b, moderator, password, stream, viewer_auth, changes=5) -> list:
    """Change the price on node A's admin `changes` times, 3 s apart; after each,
    poll node B's GET /live-stream/{id} until it shows the new price. Per change:
    the admin's answer time and the delay from that answer to B showing it."""
    browser = Browser(port_a)
    browser.login(moderator, password)
    token = browser.csrf("/admin/livestreams/livestream/")
    results = []
    for i in range(changes):
        time.sleep(3)
        price = f"{i + 2}.{secrets.randbelow(90) + 10}"
        started = time.monotonic()
        status = browser.set_price(stream, price, token)
        answered = time.monotonic()
        polls, seen = 0, None
        conn = http.client.HTTPConnection("127.0.0.1", port_b, timeout=30)
        while time.monotonic() - answered < 10:
            polls += 1
            conn.request(
                "GET",
                f"{API}/{stream}",
                headers={"Host": "localhost", "Authorization": viewer_auth},
            )
            response = conn.getresponse()
            body = response.read()
            shown = re.search(rb'"price":\s*"?([0-9.]+)', body)
            if shown and Decimal(shown.group(1).decode()) == Decimal(price):
                seen = time.monotonic()
                break
            time.sleep(0.005)
        conn.close()
        results.append(
            {"price": price, "status": status, "admin_ms": (answered - started) * 1000,
             "visible_ms": (seen - answered) * 1000 if seen else None, "polls": polls}
        )  # fmt: skip
    return results


# --- The benchmarks ----------------------------------------------------------------------


def _setup_event(env, title, existing, viewers, prefix) -> tuple[dict, list]:
    tokens, ids = env.work / f"{prefix}-tokens.txt", env.work / f"{prefix}-ids.txt"
    setup = env.script(
        DATA, "event", "--title", title, "--existing", str(existing), "--viewers", str(viewers),
        "--price", PRICE, "--credits", CREDITS, "--prefix", prefix, "--tokens", str(tokens),
        "--ids", str(ids),
    )  # fmt: skip
    setup["ids_file"] = str(ids)
    paying = [u for i, u in enumerate(ids.read_text().split()) if i % round(1 / PAID_SHARE) == 5]
    setup["paid_ids_file"] = str(env.work / f"{prefix}-paid-ids.txt")
    Path(setup["paid_ids_file"]).write_text("\n".join(paying) + "\n")
    log(f"{title}: {existing:,} viewers in, {viewers:,} to come; ready in {setup['seconds']} s")
    return setup, tokens.read_text().split("\n")[:-1]


def _check(env, setup) -> dict:
    return env.script(
        DATA, "check", "--stream", setup["stream"], "--paid-stream", setup["paid_stream"],
        "--ids", setup["ids_file"], "--paid-ids", setup["paid_ids_file"], "--price", PRICE,
        "--credits", CREDITS,
    )  # fmt: skip


def bench_event(keep: bool, viewers: int, concurrency: int = CONCURRENCY) -> list[str]:
    import event_report

    env = Environment("event", keep)
    env.env.update(NO_RECYCLING)
    m = machine()
    started = time.monotonic()
    results, checks = {}, {}
    try:
        env.create_database()
        warm, warm_tokens = _setup_event(env, "Warm-up", 0, WARMUP_VIEWERS, "w")
        setups = {
            existing: _setup_event(env, f"Event, {existing:,} in", existing, viewers, f"e{i}")
            for i, existing in enumerate((SMALL_AUDIENCE, BIG_AUDIENCE))
        }
        server = env.gunicorn_settings()
        env.start_server()
        meter = Meter(env)
        address = ("127.0.0.1", env.port)
        log("warm-up event")
        asyncio.run(play_event(address, meter, warm, warm_tokens, concurrency, headline=False))
        for existing, (setup, tokens) in setups.items():
            log(f"event: {existing:,} viewers already in, {len(tokens):,} join")
            results[existing] = asyncio.run(play_event(address, meter, setup, tokens, concurrency))
        env.stop_server()
        checks = {existing: _check(env, setup) for existing, (setup, _t) in setups.items()}
    finally:
        env.stop_server()
        env.drop_database()
    m["load_after"] = _load()
    lines, problems = event_report.event_section(
        m, server, viewers, concurrency, results, checks, time.monotonic() - started
    )
    return finish("event", lines, problems)


def _haproxy(work: Path, port: int, backends: list[int], name: str) -> subprocess.Popen:
    servers = "\n".join(
        f"    server node{i} 127.0.0.1:{p} check inter 2s" for i, p in enumerate(backends)
    )
    config = work / f"haproxy-{name}.cfg"
    config.write_text(
        f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
frontend event
    bind 127.0.0.1:{port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk
    http-check send meth GET uri /api/v1/health ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
{servers}
"""
    )
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    subprocess.run([haproxy, "-c", "-q", "-f", str(config)], check=True)
    process = subprocess.Popen(
        [haproxy, "-db", "-f", str(config)],
        stdout=open(work / f"haproxy-{name}.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health", headers={"Host": "localhost"})
            if conn.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"HAProxy on {port} did not answer")


def ensure_haproxy() -> None:
    if shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("haproxy is missing: apt-get install -y haproxy")
        subprocess.run(["apt-get", "install", "-y", "-q", "haproxy"], check=True)
        return
    raise SystemExit("HAProxy is required: sudo apt-get install haproxy")


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bench_nodes(keep: bool, viewers: int, concurrency: int = CONCURRENCY) -> list[str]:
    import event_report
    import redis

    ensure_haproxy()
    broker = os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/9")
    env = Environment("nodes", keep)
    env.env.update(NO_RECYCLING)
    m = machine()
    started = time.monotonic()
    agora = {
        "AGORA_CUSTOMER_KEY": "bench-key",
        "AGORA_CUSTOMER_SECRET": "bench-secret",
        "AGORA_REST_BASE_URL": "",
    }
    standin_port, port_a, port_b = free_port(), free_port(), free_port()
    agora["AGORA_REST_BASE_URL"] = f"http://127.0.0.1:{standin_port}"
    env.env.update(agora, CELERY_BROKER_URL=broker)
    processes: dict = {}
    results, checks = {}, {}
    try:
        env.create_database()
        redis.Redis.from_url(broker).flushdb()
        password = secrets.token_urlsafe(16)
        moderator = env.script(DATA, "moderator", "--password", password)["username"]
        warm, warm_tokens = _setup_event(env, "Warm-up", 0, WARMUP_VIEWERS, "w")
        setups = {
            n: _setup_event(env, f"Event on {n} node(s)", SMALL_AUDIENCE, viewers, f"n{n}")
            for n in (1, 2)
        }
        probe, _probe_tokens = _setup_event(env, "Price probe", 0, 1, "p")
        processes["standin"] = subprocess.Popen(
            [PYTHON, "-m", "tests.agora_standin", "--port", str(standin_port),
             "--customer-key", agora["AGORA_CUSTOMER_KEY"],
             "--customer-secret", agora["AGORA_CUSTOMER_SECRET"]],
            cwd=ROOT, env=env.env, stdout=open(env.work / "standin.log", "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        processes["worker"] = subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "allmine", "worker", "--loglevel", "WARNING",
             "--concurrency", "1", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env.env, stdout=open(env.work / "celery.log", "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        server = env.gunicorn_settings()
        env.start_server(port_a)
        env.start_server(port_b)
        lb1, lb2 = free_port(), free_port()
        processes["haproxy-1"] = _haproxy(env.work, lb1, [port_a], "one")
        processes["haproxy-2"] = _haproxy(env.work, lb2, [port_a, port_b], "two")
        meter = Meter(
            env,
            {"haproxy": processes["haproxy-1"].pid, "haproxy2": processes["haproxy-2"].pid,
             "worker": processes["worker"].pid},
        )  # fmt: skip
        log("warm-up event, through HAProxy to both nodes")
        asyncio.run(
            play_event(("127.0.0.1", lb2), meter, warm, warm_tokens, concurrency, headline=False)
        )
        for nodes, lb in ((1, lb1), (2, lb2)):
            setup, tokens = setups[nodes]
            log(f"event on {nodes} node(s) behind HAProxy: {len(tokens):,} viewers")
            probe_run = None
            if nodes == 2:
                probe_run = asyncio.to_thread(
                    price_probe, port_a, port_b, moderator, password, probe["stream"], tokens[0]
                )
            results[nodes] = asyncio.run(
                play_event(("127.0.0.1", lb), meter, setup, tokens, concurrency, probe=probe_run)
            )
        time.sleep(3)  # the last kick's task
        env.stop_server()
        checks = {nodes: _check(env, setup) for nodes, (setup, _t) in setups.items()}
    finally:
        for process in processes.values():
            _stop(process)
        env.stop_server()
        env.drop_database()
    m["load_after"] = _load()
    lines, problems = event_report.nodes_section(
        m, server, viewers, concurrency, results, checks, time.monotonic() - started
    )
    return finish("nodes", lines, problems)
