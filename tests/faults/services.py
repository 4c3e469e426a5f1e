"""The services the fault tests start and break: a PostgreSQL cluster, a
redis-server, gunicorn and an S3 store (moto), each on a free loopback port."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.faults.support import children_of

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
VENV_BIN = Path(sys.executable).parent
DATABASE = "allmine"
LOOPBACK = "127.0.0.1"
# Throttling as the tests need it: sign-in low enough for a burst to hit it, the
# rest out of the way of tests that send many requests.
THROTTLES = {
    "THROTTLE_LOGIN": "2/hour",
    "THROTTLE_JOIN": "100000/minute",
    "THROTTLE_CREATE": "100000/minute",
    "THROTTLE_RENEW": "100000/minute",
    "THROTTLE_REGISTER": "100000/minute",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((LOOPBACK, port)) == 0


def tail(path: Path, lines: int = 40) -> str:
    try:
        tail = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join(line if len(line) < 400 else line[:400] + " [...]" for line in tail)


class Postgres:
    """A throw-away PostgreSQL 15 cluster owned by the `postgres` OS user."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "postgres.log"
        self.port = free_port()
        self.url = f"postgres://postgres@{LOOPBACK}:{self.port}/{DATABASE}"

    def _as_postgres(self, program: str, *args: str, timeout: float = 60, check=True):
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / program), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({result.returncode}): {result.stderr}\n{tail(self.log)}"
            )
        return result

    def init(self) -> None:
        self._as_postgres(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nlisten_addresses = '{LOOPBACK}'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.folder}'\n"
                # Throw-away data: durability is not what these tests measure.
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 50\nlog_min_messages = warning\n"
            )

    def start(self) -> None:
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        status = self._as_postgres("pg_ctl", "-D", str(self.data), "status", check=False)
        return status.returncode == 0

    def ensure_running(self) -> None:
        if not self.running():
            self.start()

    def connect(self, *, autocommit: bool = True, dbname: str = DATABASE):
        import psycopg

        return psycopg.connect(
            host=LOOPBACK,
            port=self.port,
            user="postgres",
            dbname=dbname,
            autocommit=autocommit,
            connect_timeout=5,
        )


class Redis:
    """A redis-server without persistence: a restart starts empty."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://{LOOPBACK}:{self.port}/0"
        self.process = None

    def start(self) -> None:
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", LOOPBACK,
                 "--save", "", "--appendonly", "no", "--daemonize", "no",
                 "--dir", str(self.folder)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"redis-server did not start:\n{tail(self.folder / 'redis.log')}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # as a crash would: no goodbye to the clients
            self.process.wait(timeout=10)
        self.process = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure_running(self) -> None:
        if not self.running():
            self.start()


class Gunicorn:
    """The documented command (`gunicorn -c gunicorn.conf.py allmine.wsgi`)."""

    def __init__(self, env: dict, folder: Path, name: str):
        self.env = {**env, "GUNICORN_BIND": ""}
        self.port = free_port()
        self.env["GUNICORN_BIND"] = f"{LOOPBACK}:{self.port}"
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log = folder / f"gunicorn-{name}.log"
        self.process = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "allmine.wsgi"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as one
            )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{tail(self.log)}")
            try:
                response = requests.get(f"{self.url}/api/v1/health", timeout=5)
                if response.status_code == 200 and len(self.workers()) == self.worker_count:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not come up:\n{tail(self.log)}")
            time.sleep(0.1)

    @property
    def worker_count(self) -> int:
        return int(self.env["WEB_CONCURRENCY"])

    def workers(self) -> list[int]:
        return children_of(self.process.pid) if self.process else []

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # A worker left behind (its master gone) is still in the group we started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def log_tail(self) -> str:
        return tail(self.log, 60)


def started_gunicorn(env: dict, folder: Path, name: str) -> Gunicorn:
    server = Gunicorn(env, folder, name)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


class MotoS3:
    """moto's S3 server in this process; stopping it closes its port (as an
    unreachable endpoint would), and its objects, kept in this process, can be
    listed again once it is back."""

    region = "us-east-1"

    def __init__(self, bucket: str):
        import boto3

        self.bucket = bucket
        self.port = free_port()
        self.endpoint = f"http://{LOOPBACK}:{self.port}"
        self.server = None
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address=LOOPBACK, port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        assert not port_open(self.port), "the store still answers"

    def keys(self) -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", ())}

    def app_env(self) -> dict:
        """The app's settings for this store (STORAGE_BACKEND=s3)."""
        return {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
