"""Real servers for the tests of what happens before Django's views: gunicorn with
the repository's gunicorn.conf.py and production settings, nginx with the
configuration of docs/deploy.md, and a raw HTTP/1.1 client (requests a library
would refuse to send). Every server binds 127.0.0.1 on a free port and is stopped
by its own process id."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NGINX = Path("/usr/sbin/nginx")
DEPLOY_DOC = ROOT / "docs" / "deploy.md"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def raw_request(port: int, data: bytes, timeout: float = 10) -> RawResponse:
    """Send `data` as it is and read the whole answer (the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        received = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            received += chunk
            head, _sep, rest = received.partition(b"\r\n\r\n")
            match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if _sep and match and len(rest) >= int(match.group(1)):
                break
    head, _sep, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    headers = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunked(body)
    return RawResponse(status=status, headers=headers, body=body)


def _unchunked(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _sep, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def get(port: int, target: str, *, host: str = "127.0.0.1", headers: bytes = b"") -> RawResponse:
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host}\r\n".encode("latin-1")
        + headers
        + b"Connection: close\r\n\r\n"
    )
    return raw_request(port, request)


def production_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": "test-only-" + "k" * 60,
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "AGORA_APP_ID": "0123456789abcdef0123456789abcdef",
        "AGORA_APP_CERTIFICATE": "fedcba9876543210fedcba9876543210",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_LOG_LEVEL": "warning",
    }
    for leftover in ("REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL"):
        env.pop(leftover, None)
    env.update(extra)
    return env


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py allmine.wsgi` on SQLite, one worker."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="allmine-gunicorn-"))
        self.port = free_port()
        self.env = production_env(
            DATABASE_URL=f"sqlite:///{self.folder / 'db.sqlite3'}",
            STATIC_ROOT=str(self.folder / "static"),
            MEDIA_ROOT=str(self.folder / "media"),
            WEB_CONCURRENCY="1",
            GUNICORN_THREADS="4",
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            THROTTLE_LOGIN="100000/minute",
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=180,
        )
        self.log = open(self.folder / "gunicorn.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "-c",
                "gunicorn.conf.py",
                "allmine.wsgi",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError((self.folder / "gunicorn.log").read_text()[-3000:])
            try:
                if get(self.port, "/api/v1/health").status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("gunicorn did not answer in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class SilentServer:
    """Accepts connections and never answers (a hung upstream)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:
                continue

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        for conn in self.held:
            conn.close()
        self.listener.close()


def deploy_nginx_config() -> str:
    """The nginx block of docs/deploy.md, as written there."""
    blocks = re.findall(r"```nginx\n(.*?)```", DEPLOY_DOC.read_text(), flags=re.S)
    assert len(blocks) == 1, "docs/deploy.md should hold one nginx block"
    return blocks[0]


class Nginx:
    """Debian's nginx with the documented configuration, on loopback: TLS replaced by
    a plain listener on a free port, the upstream pointed at `upstream_port`, and any
    further `replacements` (pattern -> text) applied; run with a prefix of its own,
    never the system's configuration."""

    def __init__(self, upstream_port: int, replacements: dict[str, str] | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="allmine-nginx-"))
        self.folder.chmod(0o755)  # nginx's workers may run as another user
        self.port = free_port()
        site = deploy_nginx_config()
        site = re.sub(r"listen 443 ssl;", f"listen 127.0.0.1:{self.port};", site)
        site = re.sub(r"\n\s*ssl_certificate(_key)? [^\n]*;", "", site)
        site = re.sub(r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream_port};", site)
        for pattern, text in (replacements or {}).items():
            site, count = re.subn(pattern, text, site)
            assert count, f"{pattern!r} is not in the documented configuration"
        folder = self.folder
        (folder / "logs").mkdir()
        conf = f"""
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    include /etc/nginx/mime.types;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{site}
}}
"""
        (folder / "nginx.conf").write_text(conf)
        check = subprocess.run(
            [str(NGINX), "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen(
            [str(NGINX), "-p", str(folder), "-c", str(folder / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise AssertionError(self.process.stderr.read().decode()) from None
                time.sleep(0.05)
        self.stop()
        raise AssertionError("nginx did not listen in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
