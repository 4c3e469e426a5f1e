# ruff: noqa: S603, S607  (a harness: it runs wrk, gunicorn, manage.py and its own scripts)
"""The pieces every benchmark of bench/run.py shares: the settings, the database,
gunicorn in production mode, CPU accounting from /proc, wrk, and the tables
written into bench/README.md between `<!-- results:NAME -->` markers."""

import json
import os
import platform
import resource
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
README = BENCH / "README.md"
LUA = BENCH / "tokens.lua"
CACHE = ROOT / "var" / "bench"

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("BENCH_DB_NAME", "allmine_bench")
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")

JOIN_USERS = int(os.environ.get("BENCH_JOIN_USERS", "5000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "2"))
WARMUP_USERS = 400
BIG_AUDIENCE = int(os.environ.get("BENCH_BIG_AUDIENCE", "50000"))
SMALL_AUDIENCE = 10
AUDIENCE_ROUNDS = 4  # 10, 50k, 10, 50k, ...: drift on a shared machine hits both alike
AUDIENCE_LOADED_USERS = 500  # per run at concurrency 32
AUDIENCE_SERIAL_USERS = 150  # per run at concurrency 1
HIGH_RATE = "1000000/minute"
WRK_MAX_SECONDS = 170  # a run that has not finished by then is cut short (and reported)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk is missing: apt-get install -y wrk")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is required: sudo apt-get install wrk")
    return found


class Environment:
    """The production-like settings, database, work folder and gunicorn of one run."""

    def __init__(self, name: str, keep: bool = False):
        self.name = name
        self.keep = keep
        self.work = Path(tempfile.mkdtemp(prefix=f"allmine-bench-{name}-"))
        self.port = free_port()
        self.server = None
        self.servers = []
        (self.work / "static").mkdir()
        (self.work / "media").mkdir()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "allmine.settings",
            "DJANGO_ENV": "production",
            "SECRET_KEY": "bench-" + os.urandom(24).hex(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            # Valid-looking Agora project values (not the development placeholders).
            "AGORA_APP_ID": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
            "AGORA_APP_CERTIFICATE": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "THROTTLE_JOIN": HIGH_RATE,
            "THROTTLE_RENEW": HIGH_RATE,
            "THROTTLE_CREATE": HIGH_RATE,
            "THROTTLE_UPLOAD": HIGH_RATE,
            "THROTTLE_UPLOAD_BURST": HIGH_RATE,
            "THROTTLE_LOGIN": HIGH_RATE,
            "THROTTLE_REGISTER": HIGH_RATE,
            "STATIC_ROOT": str(self.work / "static"),
            "MEDIA_ROOT": str(self.work / "media"),
            "PUBLIC_BASE_URL": f"http://localhost:{self.port}",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_LOG_LEVEL": "warning",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("DEBUG", None)

    # --- database and cache ---------------------------------------------------

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> None:
        log(f"database {DB_NAME}: drop, create, migrate; collectstatic into {self.work}")
        self._admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{DB_NAME}"')
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()

    def drop_database(self) -> None:
        if self.keep:
            log(f"kept: database {DB_NAME}, work folder {self.work}")
            return
        self._admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        shutil.rmtree(self.work, ignore_errors=True)

    def manage(self, *args: str) -> None:
        subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def step(self, *args: str) -> dict:
        """A step of bench/setup_data.py; its JSON result."""
        return self.script(BENCH / "setup_data.py", *args)

    def script(self, path: Path, *args: str) -> dict:
        """Run a Python script in this environment; the JSON of its last line."""
        done = subprocess.run(
            [PYTHON, str(path), *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"{path.name} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    # --- gunicorn --------------------------------------------------------------

    def gunicorn_settings(self) -> dict:
        old = dict(os.environ)
        os.environ.update(self.env)
        try:
            conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
        finally:
            os.environ.clear()
            os.environ.update(old)
        return {k: conf[k] for k in ("workers", "threads", "worker_class", "max_requests")}

    def start_server(self, port: int | None = None, extra_env: dict | None = None) -> None:
        """Start gunicorn on `port` (this environment's own by default); several may
        run side by side (the nodes benchmark): stop_server stops them all."""
        port = port or self.port
        log(f"gunicorn on 127.0.0.1:{port}")
        server_log = open(self.work / f"gunicorn-{port}.log", "w")  # noqa: SIM115
        server = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "allmine.wsgi"],
            cwd=ROOT,
            env={**self.env, "GUNICORN_BIND": f"127.0.0.1:{port}", **(extra_env or {})},
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.servers.append((server, server_log))
        if self.server is None:
            self.server = server
        deadline = time.monotonic() + 60
        url = f"http://127.0.0.1:{port}/api/v1/health"
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {server_log.name}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit("gunicorn did not answer within 60 s")

    def stop_server(self) -> None:
        for server, server_log in self.servers:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=40)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            server_log.close()
        self.servers = []
        self.server = None

    def server_pids(self) -> list[int]:
        pids = []
        for server, _log in self.servers:
            out = subprocess.run(
                ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
            ).stdout
            pids += [int(p) for p in out.split()]
        return pids

    # --- CPU accounting --------------------------------------------------------

    def cpu_snapshot(self) -> dict:
        """CPU seconds used so far by each gunicorn worker and each PostgreSQL
        backend serving the benchmark database, by pid."""
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            backends = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [DB_NAME]
                )
            ]
        app = {pid: _cpu_seconds(pid) for pid in self.server_pids()}
        # A worker that gunicorn replaced (max_requests) during the run: its CPU
        # is in the master's children's times once reaped.
        for server, _log in self.servers:
            app[f"master-{server.pid}"] = _cpu_seconds(server.pid, children=True)
        return {"app": app, "db": {pid: _cpu_seconds(pid) for pid in backends}}

    # --- wrk -------------------------------------------------------------------

    def wrk(
        self, path: str, tokens: Path, *, method="GET", body=None, connections=None, threads=None
    ) -> dict:
        connections = connections or CONCURRENCY
        threads = threads or WRK_THREADS
        body_file = "-"
        if body is not None:
            body_file = str(self.work / f"body-{abs(hash(body))}.json")
            Path(body_file).write_text(body)
        done_dir = Path(tempfile.mkdtemp(prefix="wrk-", dir=self.work))
        command = [
            ensure_wrk(),
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{WRK_MAX_SECONDS}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{self.port}{path}",
            "--",
            str(tokens),
            method,
            body_file,
            str(threads),
            str(done_dir),
        ]
        # wrk's main thread sleeps for the whole -d even when every thread has
        # stopped: the run is timed here, from wrk's start to the last thread's
        # "done" file, and wrk is then interrupted (it prints its summary on SIGINT).
        cpu_before = self.cpu_snapshot()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        while len(list(done_dir.iterdir())) < threads and process.poll() is None:
            time.sleep(0.005)
        elapsed = time.monotonic() - started
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_after = self.cpu_snapshot()
        lines = [ln for ln in stdout.splitlines() if ln.startswith("BENCH_JSON ")]
        if not lines:
            raise SystemExit(f"wrk printed no result:\n{stdout}\n{stderr}")
        result = json.loads(lines[-1].removeprefix("BENCH_JSON "))
        result["seconds"] = elapsed
        result["rps"] = result["requests"] / elapsed
        done_requests = max(1, result["requests"])
        result["cpu_ms"] = {
            part: 1000 * _cpu_used(cpu_before[part], cpu_after[part]) / done_requests
            for part in ("app", "db")
        }
        wrk_cpu = (children_after.ru_utime + children_after.ru_stime) - (
            children_before.ru_utime + children_before.ru_stime
        )
        result["cpu_ms"]["wrk"] = 1000 * wrk_cpu / done_requests
        result["wrk_output"] = stdout
        return result


def _cpu_seconds(pid: int, children: bool = False) -> float:
    """utime + stime of a process (and, with `children`, of its reaped children),
    in seconds; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    used = fields[11:15] if children else fields[11:13]  # utime stime [cutime cstime]
    return sum(int(f) for f in used) / os.sysconf("SC_CLK_TCK")


def _cpu_used(before: dict, after: dict) -> float:
    """CPU seconds used between two snapshots. A process started in between counts
    whole. A gunicorn worker that ended in between is in the master's children's
    times (its whole life): what it had used before the run is taken off. A
    PostgreSQL backend that ended in between is lost, which only undercounts (they
    end when a gunicorn worker is replaced)."""
    used = sum(max(0.0, now - before.get(pid, 0.0)) for pid, now in after.items())
    if any(str(pid).startswith("master") for pid in after):
        used -= sum(then for pid, then in before.items() if pid not in after)
    return max(0.0, used)


# --- Reporting -----------------------------------------------------------------------


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> dict:
    import psycopg
    import redis

    with psycopg.connect(PG_ADMIN) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    info = redis.Redis.from_url(REDIS_URL).info("server")
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()
    mem = free[1].split()[1] if len(free) > 1 else "?"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory": mem,
        "free_h": "\n".join(free),
        "postgres": pg,
        "redis": info.get("redis_version"),
        "python": platform.python_version(),
        "load": _load(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine_lines(m: dict, server: dict | None, load: str = "") -> list[str]:
    after = f", after {m['load_after']}" if m.get("load_after") else ""
    lines = [
        f"- Run: {m['date']}; load average before the run {m['load']}{after} "
        f"(1, 5, 15 min; {m['nproc']} CPUs)",
        f"- Machine: `nproc` {m['nproc']} ({m['cpu']}), memory {m['memory']} "
        f"(`free -h` below); PostgreSQL {m['postgres']}, Redis {m['redis']}, "
        f"Python {m['python']}",
    ]
    if server:
        lines.append(
            f"- gunicorn: {server['workers']} workers x {server['threads']} threads "
            f"({server['worker_class']}, gunicorn.conf.py defaults), max_requests "
            f"{server['max_requests']}; {load or f'wrk -t {WRK_THREADS}'} on the same machine"
        )
    lines += ["", "```", m["free_h"], "```"]
    return lines


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def write_section(name: str, lines: list[str]) -> None:
    start, end = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    block = "\n".join([start, *lines, end])
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    if start in text and end in text:
        before = text.split(start)[0]
        after = text.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    README.write_text(text)
    log(f"bench/README.md: section {name} updated")


def run_row(label: str, r: dict) -> str:
    lat = r["latency_us"]
    errors = r["not_ok"] + sum(r["socket_errors"].values())
    cpu = r["cpu_ms"]
    return (
        f"| {label} | {r['requests']} | {r['rps']:.0f} | {ms(lat['p50'])} | "
        f"{ms(lat['p95'])} | {ms(lat['p99'])} | {ms(lat['mean'])} | {errors} | "
        f"{cpu['app']:.2f} | {cpu['db']:.2f} | {cpu['wrk']:.2f} |"
    )


RUN_HEADER = [
    "| run | requests | requests/s | p50 ms | p95 ms | p99 ms | mean ms | errors "
    "| app CPU ms/req | PostgreSQL CPU ms/req | wrk CPU ms/req |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def check_run(label: str, r: dict, expected: int) -> list[str]:
    problems = []
    if r["ok"] != expected or r["requests"] != expected:
        problems.append(f"{label}: {r['ok']} of {expected} answered 2xx ({r['requests']} done)")
    if r["not_ok"]:
        problems.append(f"{label}: non-2xx {r['statuses']}; first: {r['first_error'][:200]}")
    if any(r["socket_errors"].values()):
        problems.append(f"{label}: socket errors {r['socket_errors']}")
    return problems


def finish(name: str, lines: list[str], problems: list[str]) -> list[str]:
    print()
    print("\n".join(lines))
    print()
    write_section(name, lines)
    return problems
