"""The tables of the event and nodes benchmarks (bench/event.py), in Markdown."""

from event import (
    COUNT_ROUNDS,
    CREDITS,
    EVENT_HOURS,
    KINDS,
    LEAVE_SHARE,
    P99_TARGET_MS,
    PACED_SECONDS,
    PAID_SHARE,
    PRICE,
    REAL_RATES,
    TOKEN_TTL,
    WATCH_SECONDS,
    all_kinds,
    viewers_per_core,
)
from harness import BIG_AUDIENCE, SMALL_AUDIENCE, machine_lines

LABELS = {
    "join": "join (first): POST /live-stream/join",
    "join-paid": "join a paid stream (first, charged): POST /live-stream/join",
    "viewer-count": "viewer count: GET /live-stream/{id}/viewer-count",
    "leave": "leave: POST /live-stream/leave",
    "rejoin": "rejoin: POST /live-stream/join",
    "renew": "renew tokens: POST /live-stream/renew-token",
    "detail": "stream: GET /live-stream/{id}",
    "end": "creator ends: POST /live-stream/{id}/end",
}
FLAT_TARGET = 1.2


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def describe(viewers: int, concurrency: int) -> list[str]:
    leavers = round(viewers * LEAVE_SHARE)
    return [
        "One free active stream, the event, and a paid one (price "
        f"{PRICE} credits, another creator) that {PAID_SHARE:.0%} of the viewers join too, "
        "so that money moves during the event (every viewer holds "
        f"{CREDITS} credits through a ledger entry). The viewers already in are inserted "
        "with COPY into both (free, then ANALYZE); "
        f"{viewers:,} new viewers then play the event, one kind of request at a time, at "
        f"most {concurrency} requests in flight, each sent as soon as one is answered "
        "(closed loop):",
        "",
        f"1. **join** over a ramp (1 request in flight, growing to {concurrency} over the "
        f"first {viewers // 10:,} joins); then {round(viewers * PAID_SHARE):,} of them "
        "**join the paid stream** and pay once;",
        f"2. **watch**, a {WATCH_SECONDS} s watch compressed: every viewer polls the viewer "
        f"count {COUNT_ROUNDS} times (every 10 s), {leavers:,} viewers "
        f"({LEAVE_SHARE:.0%}) **leave** after the first poll and **rejoin** after the "
        "second (not charged again), every viewer **renews** its tokens once (in real "
        f"time once per {TOKEN_TTL - 60:,} s: a minute before the {TOKEN_TTL:,} s TTL) and "
        "reads the **stream** once (every 30 s);",
        f"3. **paced watch**: {PACED_SECONDS} s of the real timers (a count poll every "
        "10 s and a stream read every 30 s per viewer, from random phases, renewals at "
        "their real rate), open loop, for as many viewers as one app core should carry "
        "by the formula below (reusing the tokens when there are more of them than "
        f"viewers); again at 0.6 of that when p99 is over {P99_TARGET_MS} ms;",
        "4. the creator **ends** the stream (every participant leaves).",
        "",
        "**Time is compressed**: the server is not kept at a viewer's real pace (5,000 "
        "real viewers would send about 670 requests a second, more than these 2 cores "
        "serve); each kind is sent as fast as it is answered, so its cost per request is "
        "measured at full load. The latency of a slice is that of a saturated server "
        f"({concurrency} in flight); the paced watch shows the latency at a real pace. "
        "Latency is from the moment a request is due to its last byte (waiting for a free "
        "connection included). CPU per request: the gunicorn workers (app) and the "
        "benchmark database's PostgreSQL backends, from /proc between slices, divided by "
        "the slice's requests; load: the load generator (bench/loadgen.py, this process).",
    ]


def kind_table(per_kind: dict, extra: tuple = ()) -> list[str]:
    head = "| request | requests | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors "
    head += "| app CPU ms/req | PostgreSQL CPU ms/req | load CPU ms/req |"
    head += "".join(f" {name} CPU ms/req |" for name, _key in extra)
    lines = [head, "|---" + "|---:" * (10 + len(extra)) + "|"]
    for kind in KINDS:
        if kind not in per_kind:
            continue
        k = per_kind[kind]
        cpu = k["cpu_ms"]
        row = (
            f"| {LABELS[kind]} | {k['requests']:,} | {k['rps']:.0f} | {ms(k['p50'])} | "
            f"{ms(k['p95'])} | {ms(k['p99'])} | {ms(k['max'])} | {k['errors']} | "
            f"{cpu['app']:.2f} | {cpu['db']:.2f} | {cpu['load']:.2f} |"
        )
        row += "".join(f" {cpu.get(key, 0.0):.2f} |" for _name, key in extra)
        lines.append(row)
    return lines


def paced_lines(paced: list, per_viewer: dict) -> list[str]:
    lines = [
        "| paced watch | viewers | requests | scheduled requests/s | sent requests/s | p50 ms "
        "| p95 ms | p99 ms | errors | app cores used | viewers per app core used "
        "| PostgreSQL cores used |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in paced:
        s = all_kinds(p["stats"])
        secs = p["cpu"]["seconds"]
        cores = p["cpu"]["app"] / secs
        lines.append(
            f"| {p['share']:.1f} x the formula | {p['viewers']:,} | {s.requests:,} | "
            f"{s.requests / PACED_SECONDS:.0f} | {s.requests / secs:.0f} | "
            f"{ms(s.percentile(50))} | {ms(s.percentile(95))} | "
            f"{ms(s.percentile(99))} | {s.errors} | {cores:.2f} | "
            f"{p['viewers'] / max(cores, 1e-9):,.0f} | {p['cpu']['db'] / secs:.2f} |"
        )
    if any(p["cpu"]["seconds"] > 1.2 * PACED_SECONDS for p in paced):
        lines += [
            "",
            "A paced watch that took more than 1.2 x its schedule did not play its viewers' "
            "timers (the server, or the load generator, fell behind): its latencies are "
            "those of a queue, and its app cores used are not those of that many viewers.",
        ]
    return lines


def headline(result: dict) -> tuple[dict, list[str]]:
    per_kind = result["per_kind"]
    v = viewers_per_core(per_kind)
    lines = [
        "| request | per viewer, real time | app CPU ms/req | app CPU ms per viewer-second "
        "| PostgreSQL CPU ms per viewer-second |",
        "|---|---|---:|---:|---:|",
    ]
    for kind, rate in REAL_RATES.items():
        if kind not in per_kind:
            continue
        cpu = per_kind[kind]["cpu_ms"]
        lines.append(
            f"| {kind} | every {1 / rate:,.0f} s | {cpu['app']:.2f} | {rate * cpu['app']:.3f} | "
            f"{rate * cpu['db']:.3f} |"
        )
    lines.append(
        f"| **one viewer** | {v['requests_per_viewer_s']:.3f} requests/s | | "
        f"**{v['app_ms_per_viewer_s']:.3f}** | {v['db_ms_per_viewer_s']:.3f} |"
    )
    return v, lines


def check_lines(check: dict, result: dict, viewers: int) -> tuple[list[str], list[str]]:
    errors = sum(k["errors"] for k in result["per_kind"].values())
    errors += sum(all_kinds(p["stats"]).errors for p in result["paced"])
    counts = result["counts_seen"]
    expected_count = result["expected_count"]
    rows = [
        ("errors, every request of the event (non-2xx or socket)", f"{errors}", "0"),
        ("viewers with exactly one participation", f"{check['exactly_one']:,}", f"{viewers:,}"),
        ("viewers with more than one", f"{check['more_than_one']}", "0"),
        ("payers with exactly one participation in the paid stream",
         f"{check['paid_exactly_one']:,}", f"{check['paying']:,}"),
        ("payers charged exactly once, the price", f"{check['charged_once']:,}",
         f"{check['paying']:,}"),
        ("viewers charged wrongly (twice, another amount, or not paying)",
         f"{check['charged_wrong']}", "0"),
        ("viewers whose balance is their credits (less the price for payers)",
         f"{check['balance_as_expected']:,}", f"{viewers:,}"),
        (f"users whose balance != their ledger (of {check['users']:,})",
         f"{check['ledger_mismatches']}", "0"),
        ("viewer counts answered in the third poll",
         ", ".join(f"{c:,}" for c in counts), f"{expected_count:,}"),
        ("present after the end", f"{check['present']}", "0"),
        ("stream status after the end", check["status"], "ended"),
    ]  # fmt: skip
    problems = []
    for label, value, want in rows:
        if value != want:
            problems.append(f"{label}: {value} (expected {want})")
    lines = ["| check | value | expected |", "|---|---:|---:|"]
    lines += [f"| {label} | {value} | {want} |" for label, value, want in rows]
    return lines, problems


def event_section(m, server, viewers, concurrency, results, checks, seconds):
    lines = [
        "### A live event",
        "",
        *machine_lines(m, server, "bench/loadgen.py (asyncio, in the harness process)")[:3],
        f"- The whole command took {seconds / 60:.1f} min",
        *machine_lines(m, server)[3:],
        "",
        *describe(viewers, concurrency),
    ]
    problems = []
    small, big = results[SMALL_AUDIENCE], results[BIG_AUDIENCE]
    for existing, result in results.items():
        lines += ["", f"#### {existing:,} viewers already in", "", *kind_table(result["per_kind"])]
        check, bad = check_lines(checks[existing], result, viewers)
        lines += ["", *check]
        problems += [f"{existing:,} in: {p}" for p in bad]
    lines += [
        "",
        f"#### Flat costs: {BIG_AUDIENCE:,} / {SMALL_AUDIENCE} viewers already in",
        "",
        "| request | app + PostgreSQL CPU ms/req, 10 | same, 50,000 | **CPU ratio** | "
        "p50 ratio | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for kind in KINDS:
        if kind not in small["per_kind"] or kind not in big["per_kind"]:
            continue
        a, b = small["per_kind"][kind], big["per_kind"][kind]
        ca = a["cpu_ms"]["app"] + a["cpu_ms"]["db"]
        cb = b["cpu_ms"]["app"] + b["cpu_ms"]["db"]
        ratio = cb / ca if ca else 0.0
        p50 = b["p50"] / a["p50"] if a["p50"] else 0.0
        if kind == "end":
            verdict = "grows by design: every participant leaves"
        else:
            verdict = f"<= {FLAT_TARGET} " + ("met" if ratio <= FLAT_TARGET else "NOT met")
            if ratio > FLAT_TARGET:
                problems.append(f"{kind}: CPU ratio {ratio:.2f} > {FLAT_TARGET}")
        lines.append(f"| {kind} | {ca:.2f} | {cb:.2f} | **{ratio:.2f}** | {p50:.2f} | {verdict} |")
    lines += [
        "",
        "#### Viewers per app core",
        "",
        "One watching viewer sends each kind of request at its real rate r (the "
        "contract's timers; over an event of "
        f"{EVENT_HOURS} h, one join, and {LEAVE_SHARE:.0%} leaving and rejoining once). "
        "With c the app CPU one request of that kind costs (measured above), a viewer "
        "costs **C = sum(r x c)** ms of app CPU a second, and one core (1,000 ms a "
        "second) carries **1,000 / C viewers** when fully used. The paced watch then "
        "plays that many viewers' real timers and measures the app cores they used and "
        f"the latency (target p99 < {P99_TARGET_MS} ms).",
    ]
    for existing, result in results.items():
        v, table = headline(result)
        lines += ["", f"{existing:,} viewers already in:", "", *table, ""]
        lines.append(
            f"**One app core: 1,000 / {v['app_ms_per_viewer_s']:.3f} = {v['viewers']:,.0f} "
            "viewers** by the formula (PostgreSQL: "
            f"{1000 / max(v['db_ms_per_viewer_s'], 1e-9):,.0f} viewers per core)."
        )
        lines += ["", *paced_lines(result["paced"], v)]
        met = [
            p
            for p in result["paced"]
            if all_kinds(p["stats"]).percentile(99) / 1000 < P99_TARGET_MS
        ]
        if not met:
            problems.append(f"{existing:,} in: paced watch p99 >= {P99_TARGET_MS} ms")
    if problems:
        lines += ["", "Problems:", *(f"- {p}" for p in problems)]
    return lines, problems


def nodes_section(m, server, viewers, concurrency, results, checks, seconds):
    lines = [
        "### Two nodes",
        "",
        *machine_lines(m, server, "bench/loadgen.py (asyncio, in the harness process)")[:3],
        f"- The whole command took {seconds / 60:.1f} min",
        *machine_lines(m, server)[3:],
        "",
        "The same event (10 viewers already in) through HAProxy (Debian's, on loopback, "
        "round robin, health checks on /api/v1/health) to one gunicorn, then to two "
        "(each with the defaults above, on their own ports, sharing PostgreSQL and Redis), "
        "with a Celery worker (`python -m celery -A allmine worker`, concurrency 1, broker "
        "Redis db 9) and the local Agora stand-in (tests/agora_standin.py) as Agora's REST "
        "API: ending a stream records a kicking rule that the worker sends. The paced "
        "watch plays the formula's viewers for one app core, as in the event benchmark. "
        "During the two-node event, a moderator changes a free stream's price 5 times "
        "through the admin of node A (the changelist's editable price, as a browser "
        "does), and node B's GET /live-stream/{id} is polled until it shows the new "
        "price.",
        "",
        *describe(viewers, concurrency)[2:8],
    ]
    problems = []
    one, two = results[1], results[2]
    lines += [
        "",
        "| request | requests/s, 1 node | requests/s, 2 nodes | p99 ms, 1 / 2 nodes | "
        "app CPU ms/req, 1 / 2 | HAProxy CPU ms/req, 1 / 2 | errors, 1 / 2 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in KINDS:
        if kind not in one["per_kind"] or kind not in two["per_kind"]:
            continue
        a, b = one["per_kind"][kind], two["per_kind"][kind]
        lines.append(
            f"| {kind} | {a['rps']:.0f} | {b['rps']:.0f} | {ms(a['p99'])} / {ms(b['p99'])} | "
            f"{a['cpu_ms']['app']:.2f} / {b['cpu_ms']['app']:.2f} | "
            f"{a['cpu_ms'].get('haproxy', 0):.2f} / {b['cpu_ms'].get('haproxy2', 0):.2f} | "
            f"{a['errors']} / {b['errors']} |"
        )
    for nodes, result in results.items():
        v, _table = headline(result)
        lines += [
            "",
            f"#### {nodes} node(s)",
            "",
            *kind_table(result["per_kind"], (("HAProxy", f"haproxy{'' if nodes == 1 else '2'}"),
                                             ("Celery worker", "worker"))),
            "",
            f"Viewers per app core by the formula: {v['viewers']:,.0f}.",
            "",
            *paced_lines(result["paced"], v),
        ]  # fmt: skip
        check, bad = check_lines(checks[nodes], result, viewers)
        kicks = checks[nodes]["kicks"]
        check.append(f"| Agora kicking rules after the end, by status | {kicks} | {{'done': 1}} |")
        if kicks != {"done": 1}:
            bad.append(f"kicks {kicks}")
        lines += ["", *check]
        problems += [f"{nodes} node(s): {p}" for p in bad]
    probe = two["probe"] or []
    lines += [
        "",
        "A price changed on node A, seen on node B (during the two-node event's watch):",
        "",
        "| change | admin answer | admin ms | visible on B after, ms | polls of B |",
        "|---|---:|---:|---:|---:|",
    ]
    for i, p in enumerate(probe, 1):
        visible = f"{p['visible_ms']:.0f}" if p["visible_ms"] is not None else "not within 10 s"
        lines.append(
            f"| {i}: price {p['price']} | {p['status']} | {p['admin_ms']:.0f} | {visible} | "
            f"{p['polls']} |"
        )
        if p["status"] != 302 or p["visible_ms"] is None or p["visible_ms"] > 1000:
            problems.append(f"price change {i}: {p}")
    if problems:
        lines += ["", "Problems:", *(f"- {p}" for p in problems)]
    return lines, problems
