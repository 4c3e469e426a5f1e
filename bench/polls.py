"""The polls of issue 13 against the floor, in one run (not part of `run.py`: a
short check of the cached reads, reusing harness.py):

    BENCH_DB_NAME=bench_polls python bench/polls.py [--audience 50000]

One free active stream with `--audience` viewers already in (10 by default), 5,000
users' tokens (each used once per run), gunicorn as in the other benchmarks. Runs:
the floor (`GET /auth/me`), `GET /live-stream/{id}/viewer-count`,
`GET /live-stream/{id}`, the floor again; prints the table and the ratios."""

import argparse
import json
import sys

from harness import (
    CONCURRENCY,
    JOIN_USERS,
    RUN_HEADER,
    WRK_THREADS,
    Environment,
    log,
    machine,
    machine_lines,
    run_row,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--audience", type=int, default=10)
    args = parser.parse_args()
    env = Environment("polls")
    m = machine()
    try:
        env.create_database()
        stream = env.step("stream", "--title", "Polled", "--participants", str(args.audience))
        target = stream["stream"]
        tokens = env.work / "tokens.txt"
        env.step("users", "--count", str(JOIN_USERS), "--tokens", str(tokens))
        server = env.gunicorn_settings()
        env.start_server()
        log("warm-up")
        env.wrk("/api/v1/auth/me", tokens)
        runs = {}
        for label, path in (
            ("floor: GET /auth/me", "/api/v1/auth/me"),
            (
                "**viewer count: GET /live-stream/{id}/viewer-count**",
                f"/api/v1/live-stream/{target}/viewer-count",
            ),
            ("**stream: GET /live-stream/{id}**", f"/api/v1/live-stream/{target}"),
            ("floor again: GET /auth/me", "/api/v1/auth/me"),
        ):
            log(label)
            runs[label] = env.wrk(path, tokens)
    finally:
        env.stop_server()
        env.drop_database()
    values = list(runs.values())
    floor = (values[0]["rps"] + values[3]["rps"]) / 2
    lines = [
        f"### Polls and the floor ({args.audience:,} viewers in the stream)",
        "",
        *machine_lines(m, server),
        "",
        f"{JOIN_USERS:,} users, each token used once per run, wrk -t {WRK_THREADS} "
        f"-c {CONCURRENCY}.",
        "",
        *RUN_HEADER,
        *(run_row(label, r) for label, r in runs.items()),
        "",
        f"| viewer-count poll / floor | **{values[1]['rps'] / floor:.2f}** | >= 0.8 |",
        f"| stream poll / floor | **{values[2]['rps'] / floor:.2f}** | >= 0.6 |",
    ]
    print("\n".join(lines))
    print("BENCH_JSON " + json.dumps({k: v["rps"] for k, v in runs.items()}))


if __name__ == "__main__":
    sys.exit(main())
