"""The benchmarks of bench/README.md, one command each:

    python bench/run.py join        # join burst and the /auth/me floor  (make bench-join)
    python bench/run.py audience    # join latency with 10 vs 50,000 viewers (make bench-audience)
    python bench/run.py create      # create with a 3 MP / 12 MP thumbnail (make bench-create)
    python bench/run.py all         # the three                          (make bench)
    python bench/run.py event       # a live event: join, watch, poll, leave, end (make bench-event)
    python bench/run.py nodes       # the event on two nodes behind HAProxy (make bench-nodes)
    python bench/run.py profile     # where a join spends its time (needs pyinstrument)

Each run creates its own PostgreSQL database (allmine_bench on 127.0.0.1:5432, as
the postgres user), uses Redis database 2 on 127.0.0.1:6379 (flushed), serves the
app with gunicorn and the production settings (gunicorn.conf.py as is), loads it
with wrk (installed with apt-get when missing and run as root), prints a Markdown
table and writes it into bench/README.md between its markers. The database is
dropped at the end (--keep keeps it and the work folder). The shared pieces are in
harness.py; the event and the nodes benchmarks in event.py (load: loadgen.py).
"""

import argparse
import json
import os
import signal
import statistics
import sys
import time

from harness import (
    AUDIENCE_LOADED_USERS,
    AUDIENCE_ROUNDS,
    AUDIENCE_SERIAL_USERS,
    BENCH,
    BIG_AUDIENCE,
    CACHE,
    CONCURRENCY,
    JOIN_USERS,
    RUN_HEADER,
    SMALL_AUDIENCE,
    WARMUP_USERS,
    WRK_THREADS,
    Environment,
    _load,
    check_run,
    ensure_wrk,
    finish,
    log,
    machine,
    machine_lines,
    ms,
    run_row,
)

# --- The benchmarks -------------------------------------------------------------------


# The join burst is played this many times, each between two floor runs: on a shared
# 2-core machine one run's requests/s moved by up to 30 % between runs of the same
# code minutes apart, so the target is checked on the median round.
JOIN_ROUNDS = int(os.environ.get("BENCH_JOIN_ROUNDS", "3"))


def bench_join(keep: bool) -> list[str]:
    env = Environment("join", keep)
    m = machine()
    rounds = []
    try:
        env.create_database()
        warm_stream = env.step("stream", "--title", "Warm-up")["stream"]
        warm = env.work / "warm.txt"
        env.step("users", "--count", str(WARMUP_USERS), "--tokens", str(warm), "--prefix", "w")
        prepared = []
        for n in range(1, JOIN_ROUNDS + 1):
            target = env.step("stream", "--title", f"The burst, round {n}")["stream"]
            tokens, ids = env.work / f"tokens-{n}.txt", env.work / f"ids-{n}.txt"
            made = env.step(
                "users",
                "--count",
                str(JOIN_USERS),
                "--tokens",
                str(tokens),
                "--ids",
                str(ids),
                "--prefix",
                f"r{n}",
            )
            log(f"round {n}: {made['users']} users and their tokens in {made['seconds']} s")
            prepared.append((target, tokens, ids))
        server = env.gunicorn_settings()
        env.start_server()
        log("warm-up: /auth/me and a join on another stream, 400 users")
        env.wrk("/api/v1/auth/me", warm)
        env.wrk(
            "/api/v1/live-stream/join",
            warm,
            method="POST",
            body=json.dumps({"liveStreamId": warm_stream}),
        )
        for n, (target, tokens, _ids) in enumerate(prepared, 1):
            log(f"round {n}: floor, join burst ({JOIN_USERS} users, c={CONCURRENCY}), floor")
            floor1 = env.wrk("/api/v1/auth/me", tokens)
            join_body = json.dumps({"liveStreamId": target})
            burst = env.wrk("/api/v1/live-stream/join", tokens, method="POST", body=join_body)
            floor2 = env.wrk("/api/v1/auth/me", tokens)
            rounds.append({"floor1": floor1, "burst": burst, "floor2": floor2})
        env.stop_server()
        for (target, _tokens, ids), played in zip(prepared, rounds, strict=True):
            played["rows"] = env.step("verify", "--stream", target, "--ids", str(ids))
        log("where a join's time goes (in-process breakdown)")
        breakdown = env.step("breakdown", "--stream", prepared[-1][0], "--count", "300")
    finally:
        env.stop_server()
        env.drop_database()
    m["load_after"] = _load()

    problems = []
    for played in rounds:
        floor_rps = (played["floor1"]["rps"] + played["floor2"]["rps"]) / 2
        played["ratio"] = played["burst"]["rps"] / floor_rps
        for label, key in (("floor", "floor1"), ("join", "burst"), ("floor again", "floor2")):
            problems += check_run(label, played[key], JOIN_USERS)
        rows = played["rows"]
        if (
            not rows["users_with_exactly_one"]
            == JOIN_USERS
            == rows["rows"]
            == rows["distinct_users"]
        ):
            problems.append(f"participations: {rows}")
    ratio = statistics.median(played["ratio"] for played in rounds)
    errors = sum(
        r["not_ok"] + sum(r["socket_errors"].values())
        for played in rounds
        for r in (played["floor1"], played["burst"], played["floor2"])
    )
    lines = [
        "### Join burst and the floor",
        "",
        *machine_lines(m, server),
        "",
        f"{JOIN_ROUNDS} rounds; in each, {JOIN_USERS:,} distinct users (new ones each "
        f"round, each token used once), wrk -t {WRK_THREADS} -c {CONCURRENCY}, join a "
        "free active stream of their own round. The floor (`GET /api/v1/auth/me`) runs "
        "just before and just after each burst on the same server with the same tokens; "
        "a round's ratio is its burst's requests/s over the mean of its two floors, and "
        "the target is checked on the median round.",
        "",
        *RUN_HEADER,
    ]
    for n, played in enumerate(rounds, 1):
        lines += [
            run_row(f"round {n}: floor, GET /auth/me", played["floor1"]),
            run_row(f"**round {n}: join, POST /live-stream/join**", played["burst"]),
            run_row(f"round {n}: floor again", played["floor2"]),
        ]
    lines += [
        "",
        "| result | value | target |",
        "|---|---:|---|",
        "| join throughput / floor, each round | "
        + ", ".join(f"{played['ratio']:.2f}" for played in rounds)
        + " | |",
        f"| **join throughput / floor, the median round** | **{ratio:.2f}** | >= 0.5 "
        f"{'met' if ratio >= 0.5 else 'NOT met'} |",
        f"| errors (non-2xx + socket errors), every run | {errors} | 0 |",
        "| Participant rows in each round's stream afterwards | "
        + ", ".join(f"{played['rows']['rows']:,}" for played in rounds)
        + f" | {JOIN_USERS:,} each |",
        "| users of each round's burst with exactly one row | "
        + ", ".join(f"{played['rows']['users_with_exactly_one']:,}" for played in rounds)
        + f" | {JOIN_USERS:,} each |",
    ]
    lines += [
        "",
        "Where a join's time goes: each part timed on its own in one process "
        f"({breakdown['calls']} calls each, same settings and database, after the bursts; "
        "a tight loop keeps caches warm, so the parts add up to less than the whole).",
        "",
        "| part | CPU ms | wall ms |",
        "|---|---:|---:|",
        *(
            f"| {name} | {t['cpu_ms']:.2f} | {t['wall_ms']:.2f} |"
            for name, t in {**breakdown["parts"], **breakdown["whole"]}.items()
        ),
    ]
    if problems:
        lines += ["", "Problems:", *(f"- {p}" for p in problems)]
    return finish("join", lines, problems)


def _summary(runs: list[dict]) -> dict:
    """Medians over the rounds (a shared machine's bursts of load hit single runs)."""

    def median(pick):
        return statistics.median(pick(r) for r in runs)

    return {
        "p50": median(lambda r: r["latency_us"]["p50"]),
        "p95": median(lambda r: r["latency_us"]["p95"]),
        "p99": median(lambda r: r["latency_us"]["p99"]),
        "mean": median(lambda r: r["latency_us"]["mean"]),
        "rps": median(lambda r: r["rps"]),
        "app": median(lambda r: r["cpu_ms"]["app"]),
        "db": median(lambda r: r["cpu_ms"]["db"]),
        "requests": sum(r["requests"] for r in runs),
        "errors": sum(r["not_ok"] + sum(r["socket_errors"].values()) for r in runs),
    }


def bench_audience(keep: bool) -> list[str]:
    env = Environment("audience", keep)
    m = machine()
    try:
        env.create_database()
        small = env.step(
            "stream", "--title", "Small audience", "--participants", str(SMALL_AUDIENCE)
        )
        log(f"{BIG_AUDIENCE:,} viewers: users and participations by COPY")
        big = env.step("stream", "--title", "Big audience", "--participants", str(BIG_AUDIENCE))
        log(f"stream with {big['participants']:,} viewers ready in {big['seconds']} s")
        streams = {SMALL_AUDIENCE: small["stream"], BIG_AUDIENCE: big["stream"]}
        queries = env.step("queries", "--streams", f"{small['stream']},{big['stream']}")
        plan = []  # (audience, concurrency, users): 10, 50k, 10, 50k, ...
        for _round in range(AUDIENCE_ROUNDS):
            for c, users in ((1, AUDIENCE_SERIAL_USERS), (CONCURRENCY, AUDIENCE_LOADED_USERS)):
                for size in (SMALL_AUDIENCE, BIG_AUDIENCE):
                    plan.append((size, c, users))
        files = []
        for n, (_size, _c, users) in enumerate(plan):
            path = env.work / f"tokens-{n}.txt"
            env.step("users", "--count", str(users), "--tokens", str(path), "--prefix", f"a{n}")
            files.append(path)
        warm = env.work / "warm.txt"
        env.step("users", "--count", str(WARMUP_USERS), "--tokens", str(warm), "--prefix", "w")
        warm_stream = env.step("stream", "--title", "Warm-up")["stream"]
        server = env.gunicorn_settings()
        env.start_server()
        env.wrk(
            "/api/v1/live-stream/join",
            warm,
            method="POST",
            body=json.dumps({"liveStreamId": warm_stream}),
        )
        results = []
        for (size, c, users), path in zip(plan, files, strict=True):
            log(f"join: audience {size:,}, c={c}, {users} users")
            r = env.wrk(
                "/api/v1/live-stream/join",
                path,
                method="POST",
                body=json.dumps({"liveStreamId": streams[size]}),
                connections=c,
                threads=1 if c == 1 else WRK_THREADS,
            )
            results.append((size, c, users, r))
        env.stop_server()
        after = {size: env.step("verify", "--stream", sid) for size, sid in streams.items()}
    finally:
        env.stop_server()
        env.drop_database()
    m["load_after"] = _load()

    problems = []
    for size, c, users, r in results:
        problems += check_run(f"audience {size} c={c}", r, users)
    summary = {}
    for size in (SMALL_AUDIENCE, BIG_AUDIENCE):
        for c in (1, CONCURRENCY):
            summary[size, c] = _summary([r for s, cc, _u, r in results if s == size and cc == c])
    q_small, q_big = queries[streams[SMALL_AUDIENCE]], queries[streams[BIG_AUDIENCE]]
    expected = {
        size: existing + 2 + sum(u for s, _c, u, _r in results if s == size)
        for size, existing in ((SMALL_AUDIENCE, SMALL_AUDIENCE), (BIG_AUDIENCE, BIG_AUDIENCE))
    }
    lines = [
        "### Scale with audience",
        "",
        *machine_lines(m, server),
        "",
        f"Two active free streams, one with {SMALL_AUDIENCE} and one with {BIG_AUDIENCE:,} "
        "viewers already in (users and participations inserted with COPY, then ANALYZE). "
        f"Fresh users join them in {AUDIENCE_ROUNDS} rounds, alternating between the two "
        f"streams: {AUDIENCE_SERIAL_USERS} joins one at a time (c=1: the latency of a join "
        f"itself) and {AUDIENCE_LOADED_USERS:,} at c={CONCURRENCY} (a burst) per run. Each "
        "figure is the median over the rounds; CPU is per request (gunicorn workers; the "
        "PostgreSQL backends of the benchmark database).",
        "",
        "| existing viewers | concurrency | joins | requests/s | p50 ms | p95 ms | p99 ms "
        "| mean ms | errors | app CPU ms/req | PostgreSQL CPU ms/req |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (size, c), s in summary.items():
        lines.append(
            f"| {size:,} | {c} | {s['requests']} | {s['rps']:.0f} | {ms(s['p50'])} | "
            f"{ms(s['p95'])} | {ms(s['p99'])} | {ms(s['mean'])} | {s['errors']} | "
            f"{s['app']:.2f} | {s['db']:.2f} |"
        )

    def ratio(c, key):
        return summary[BIG_AUDIENCE, c][key] / summary[SMALL_AUDIENCE, c][key]

    same = q_small["first_join"] == q_big["first_join"] and q_small["rejoin"] == q_big["rejoin"]
    judged = ratio(1, "p50")
    lines += [
        "",
        "| result | value | target |",
        "|---|---:|---|",
        f"| **join latency ratio, {BIG_AUDIENCE:,} / {SMALL_AUDIENCE} viewers (p50, c=1)** | "
        f"**{judged:.2f}** | < 1.2 {'met' if judged < 1.2 else 'NOT met'} |",
        f"| same, mean latency, c=1 | {ratio(1, 'mean'):.2f} | |",
        f"| same under the burst (p50, c={CONCURRENCY}) | {ratio(CONCURRENCY, 'p50'):.2f} | |",
        f"| throughput ratio under the burst (requests/s, {BIG_AUDIENCE:,} / {SMALL_AUDIENCE}) "
        f"| {ratio(CONCURRENCY, 'rps'):.2f} | |",
        f"| CPU per join ratio (app + PostgreSQL, c={CONCURRENCY}) | "
        f"{(summary[BIG_AUDIENCE, CONCURRENCY]['app'] + summary[BIG_AUDIENCE, CONCURRENCY]['db']) / (summary[SMALL_AUDIENCE, CONCURRENCY]['app'] + summary[SMALL_AUDIENCE, CONCURRENCY]['db']):.2f} | |",  # noqa: E501
        f"| **SQL statements per first join, {SMALL_AUDIENCE} / {BIG_AUDIENCE:,} viewers** | "
        f"**{q_small['first_join']} / {q_big['first_join']}** | <= 8, the same |",
        f"| SQL statements per rejoin, {SMALL_AUDIENCE} / {BIG_AUDIENCE:,} viewers | "
        f"{q_small['rejoin']} / {q_big['rejoin']} | the same |",
        f"| participations afterwards ({SMALL_AUDIENCE}-viewer / {BIG_AUDIENCE:,}-viewer stream) "
        f"| {after[SMALL_AUDIENCE]['rows']:,} / {after[BIG_AUDIENCE]['rows']:,} | "
        f"{expected[SMALL_AUDIENCE]:,} / {expected[BIG_AUDIENCE]:,} |",
        "",
        "The statements of a first join, counted with CaptureQueriesContext around a "
        "test-client request on the same database (Django logs the transaction's BEGIN and "
        "COMMIT as statements; they are included in the count):",
        "",
        *(
            f"{n}. `{sql[:110]}`" + ("…" if len(sql) > 110 else "")
            for n, sql in enumerate(q_big["first_join_sql"], 1)
        ),
    ]
    if judged >= 1.2:
        problems.append(f"latency ratio {judged:.2f} >= 1.2")
    if not same or q_big["first_join"] > 8:
        problems.append(f"queries: {q_small['first_join']} vs {q_big['first_join']}")
    if after[SMALL_AUDIENCE]["rows"] != expected[SMALL_AUDIENCE] or (
        after[BIG_AUDIENCE]["rows"] != expected[BIG_AUDIENCE]
    ):
        problems.append(f"participations {after} != {expected}")
    if problems:
        lines += ["", "Problems:", *(f"- {p}" for p in problems)]
    return finish("audience", lines, problems)


# The create benchmark's images: (width, height, file suffix, kind, expected status,
# timed requests). Photo-like JPEGs up to 24 MP and a smooth one at the contract's
# 40 MP (a noisy 40 MP JPEG is over IMAGE_MAX_BYTES); the largest PNG the decode
# budget takes (4096 x 4096, smooth so that it fits IMAGE_MAX_BYTES); and the
# attack of issue 10, a 6000 x 6600 PNG of one colour (under 200 KB), now refused.
CREATE_CASES = [
    (2000, 1500, "jpg", "photo", 201, 5),
    (4000, 3000, "jpg", "photo", 201, 5),
    (6000, 4000, "jpg", "photo", 201, 5),
    (7300, 5475, "jpg", "smooth", 201, 3),
    (4096, 4096, "png", "smooth", 201, 3),
    (6000, 6600, "png", "flat", 400, 5),
]


def bench_create(keep: bool) -> list[str]:
    env = Environment("create", keep)
    m = machine()
    results = []
    try:
        env.create_database()
        CACHE.mkdir(parents=True, exist_ok=True)
        for w, h, suffix, kind, expect, requests in CREATE_CASES:
            name = "noise" if kind == "photo" else kind
            image = CACHE / f"{name}-{w}x{h}.{suffix}"
            size = ("--image", str(image), "--width", str(w), "--height", str(h))
            env.script(BENCH / "create_memory.py", *size, "--kind", kind, "--make-only")
            log(f"create with a {w}x{h} {suffix} ({w * h / 1e6:.0f} MP), in a fresh process")
            results.append(
                env.script(
                    BENCH / "create_memory.py",
                    *size,
                    "--kind",
                    kind,
                    "--expect",
                    str(expect),
                    "--requests",
                    str(requests),
                )
            )
    finally:
        env.drop_database()
    m["load_after"] = _load()
    problems = [f"{r['megapixels']} MP: {r['problem']}" for r in results if r.get("problem")]
    mib = 1024 * 1024

    def col(key, fmt="{:.1f}", scale=1.0):
        return " | ".join(fmt.format(r[key] / scale) for r in results)

    lines = [
        "### Create with a thumbnail",
        "",
        *machine_lines(m, None),
        "",
        "POST /api/v1/live-stream/create, multipart, through Django's test client in a "
        "fresh Python process per image (production settings, the benchmark database, "
        "local media): photo-like JPEGs (quality 90, made once with Pillow) up to 24 MP "
        "and a smooth one at the contract's 40 MP (a noisy one is over IMAGE_MAX_BYTES), "
        "the largest PNG the decode budget takes (IMAGE_MAX_DECODE_PIXELS, "
        "4096 x 4096; a smooth picture, so that it fits IMAGE_MAX_BYTES), and the PNG of "
        "the attack in issue 10 (one colour, 6000 x 6600, refused from its header). A "
        "warm-up create with a small image runs first; peak RSS is `ru_maxrss` before and "
        "after the timed creates; the Python peak is tracemalloc's over one more create "
        "(Pillow's pixel buffers are C memory: RSS shows them, tracemalloc does not). The "
        "multipart body is built before the baseline.",
        "",
        "| | "
        + " | ".join(
            f"{r['width']}x{r['height']} {r['format']} ({r['megapixels']:.0f} MP)" for r in results
        )
        + " |",
        "|---|" + "---:|" * len(results),
        f"| answer | {' | '.join(str(r['status']) for r in results)} |",
        f"| upload size, MB | {col('upload_bytes', '{:.2f}', 1e6)} |",
        f"| timed creates | {' | '.join(str(r['requests']) for r in results)} |",
        f"| time per create, ms (median) | {col('ms_median')} |",
        f"| time per create, ms (min) | {col('ms_min')} |",
        f"| decoded at | {' | '.join(r['decoded_at'] for r in results)} |",
        f"| stored thumbnail | {' | '.join(r['stored'] for r in results)} |",
        f"| pixel buffer Pillow needs for the decoded image, MiB | "
        f"{col('decoded_bytes', '{:.1f}', mib)} |",
        f"| peak RSS growth over the creates, MiB | {col('rss_growth_kib', '{:.1f}', 1024)} |",
        f"| peak RSS of the process, MiB | {col('rss_after_kib', '{:.1f}', 1024)} |",
        f"| tracemalloc peak (Python objects) during one create, MiB | "
        f"{col('tracemalloc_peak', '{:.2f}', mib)} |",
    ]
    if problems:
        lines += ["", "Problems:", *(f"- {p}" for p in problems)]
    return finish("create", lines, problems)


def profile_join(keep: bool) -> list[str]:
    """Not a benchmark: where a join spends its time (pyinstrument, test client,
    the benchmark's settings and database), written to var/bench/join-profile.txt."""
    env = Environment("profile", keep)
    out = CACHE / "join-profile.txt"
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        env.create_database()
        stream = env.step("stream", "--title", "Profiled", "--participants", "1000")["stream"]
        result = env.step("profile", "--stream", stream, "--count", "400", "--out", str(out))
    finally:
        env.drop_database()
    log(f"{result['joins']} joins, {result['ms_per_join']} ms each in-process; profile: {out}")
    print(out.read_text())
    return []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "benchmark", choices=["join", "audience", "create", "all", "profile", "event", "nodes"]
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and work folder")
    parser.add_argument(
        "--viewers",
        type=int,
        default=int(os.environ.get("BENCH_EVENT_VIEWERS", "5000")),
        help="event and nodes: viewers who join (5,000; 50,000 takes about an hour)",
    )
    args = parser.parse_args()
    # A SIGTERM ends the run like ^C: the database is dropped and gunicorn stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    chosen = ["join", "audience", "create"] if args.benchmark == "all" else [args.benchmark]
    if args.benchmark == "profile":
        try:
            import pyinstrument  # noqa: F401
        except ImportError:
            raise SystemExit(
                "profile needs pyinstrument: .venv/bin/pip install pyinstrument"
            ) from None
    if any(b in chosen for b in ("join", "audience")):
        ensure_wrk()
    import event

    runners = {
        "event": lambda keep: event.bench_event(keep, args.viewers),
        "nodes": lambda keep: event.bench_nodes(keep, args.viewers),
        "join": bench_join,
        "audience": bench_audience,
        "create": bench_create,
        "profile": profile_join,
    }
    problems = []
    for name in chosen:
        started = time.monotonic()
        problems += runners[name](args.keep)
        log(f"{name}: {time.monotonic() - started:.0f} s")
    if problems:
        print("Targets not met or errors:\n" + "\n".join(f"- {p}" for p in problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
