"""A local stand-in for Agora's RESTful APIs, for the tests and for a
development server (`AGORA_REST_BASE_URL=http://127.0.0.1:<port>`).

It records every request it receives and answers as Agora documents:

- kicking rules: POST, GET and DELETE /dev/v1/kicking-rule (Channel Management);
- Cloud Recording: acquire, start (individual, mix, web), query, stop, with the
  stop's file list (`<fileNamePrefix>/<sid>_<cname>.m3u8`, and `_0.mp4` when MP4
  is recorded too);
- the channel user list: GET /dev/v1/channel/user/{appid}/{channelName};
- Signaling (RTM): POST /dev/v2/project/{appid}/rtm/users/{user_id}/channel_messages.

On demand, per route, it answers with a 4xx or 5xx, a 504 (after doing the work,
as a gateway timing out would), or slowly (after doing the work, or not), so that
a client's timeout fires: `stand_in.answer("kicking-rule.post", "slow", delay=2)`.

In a test:

    with AgoraStandIn(customer_key=..., customer_secret=..., app_id=...) as agora:
        settings.AGORA_REST_BASE_URL = agora.url
        ...
        assert agora.rules == {}

From a shell (it prints each request; `GET /_standin/state` shows what it holds,
`POST /_standin/answer` with {"route": ..., "mode": ..., "status": ..., "delay":
..., "times": ...} changes how a route answers, `POST /_standin/channel` with
{"channel": ..., "broadcasters": [...], "audience": [...]} sets a channel's users):

    python -m tests.agora_standin --port 8765
"""

import argparse
import base64
import itertools
import json
import re
import secrets
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

OK, ERROR, SLOW, GATEWAY_TIMEOUT, HANG = "ok", "error", "slow", "504", "hang"
MODES = (OK, ERROR, SLOW, GATEWAY_TIMEOUT, HANG)
PRIVILEGES = {"join_channel", "publish_audio", "publish_video"}
RECORDING_MODES = {"individual", "mix", "web"}
MAX_RTM_PAYLOAD = 32 * 1024

# (route, method, path pattern)
ROUTES = [
    ("kicking-rule.post", "POST", r"/dev/v1/kicking-rule/?"),
    ("kicking-rule.get", "GET", r"/dev/v1/kicking-rule/?"),
    ("kicking-rule.delete", "DELETE", r"/dev/v1/kicking-rule/?"),
    ("recording.acquire", "POST", r"/v1/apps/(?P<appid>[^/]+)/cloud_recording/acquire"),
    (
        "recording.start",
        "POST",
        r"/v1/apps/(?P<appid>[^/]+)/cloud_recording/resourceid/(?P<resource>[^/]+)"
        r"/mode/(?P<mode>[^/]+)/start",
    ),
    (
        "recording.query",
        "GET",
        r"/v1/apps/(?P<appid>[^/]+)/cloud_recording/resourceid/(?P<resource>[^/]+)"
        r"/sid/(?P<sid>[^/]+)/mode/(?P<mode>[^/]+)/query",
    ),
    (
        "recording.stop",
        "POST",
        r"/v1/apps/(?P<appid>[^/]+)/cloud_recording/resourceid/(?P<resource>[^/]+)"
        r"/sid/(?P<sid>[^/]+)/mode/(?P<mode>[^/]+)/stop",
    ),
    ("channel.users", "GET", r"/dev/v1/channel/user/(?P<appid>[^/]+)/(?P<channel>[^/]+)"),
    (
        "rtm.channel-message",
        "POST",
        r"/dev/v2/project/(?P<appid>[^/]+)/rtm/users/(?P<user>[^/]+)/channel_messages",
    ),
]
ROUTE_NAMES = [name for name, _method, _pattern in ROUTES]


@dataclass
class Behaviour:
    """How a route answers its next request(s)."""

    mode: str = OK
    status: int = 400
    delay: float = 0.0
    # Whether the work is done before a 504 or a slow answer (Agora may well have
    # done it although the client never heard so).
    effect: bool = True
    body: dict[str, Any] | None = None


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


@dataclass
class Recorded:
    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    authorization: str | None
    content_type: str | None
    body: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "route": self.route,
            "query": self.query,
            "authorization": self.authorization,
            "content_type": self.content_type,
            "body": self.body,
        }


@dataclass
class AgoraStandIn:
    """The stand-in's state; `start()` serves it on a free port of 127.0.0.1."""

    customer_key: str | None = None
    customer_secret: str | None = None
    app_id: str | None = None
    requests: list[Recorded] = field(default_factory=list)
    rules: dict[int, dict[str, Any]] = field(default_factory=dict)
    one_time_kicks: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    log: bool = False

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.release = threading.Event()
        self._behaviours: dict[str, deque[Behaviour]] = {}
        self._sticky: set[str] = set()  # routes answering the same way until told otherwise
        self._rule_ids = itertools.count(1001)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- Running ----------------------------------------------------------------

    def start(self, port: int = 0) -> "AgoraStandIn":
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()  # slow answers stop waiting
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "AgoraStandIn":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- Steering it ------------------------------------------------------------

    def answer(
        self,
        route: str,
        mode: str,
        *,
        times: int | None = 1,
        status: int | None = None,
        delay: float = 0.0,
        effect: bool = True,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next `times` requests of `route` in `mode` (None: until told
        otherwise): "error" (with `status`, 400 by default, and Agora's error body
        or `body`), "504" (after doing the work unless `effect` is False), "slow"
        (answer after `delay` seconds, having done the work unless `effect` is
        False) or "hang" (no answer until the stand-in stops)."""
        if route not in ROUTE_NAMES:
            raise ValueError(f"unknown route {route!r}; one of {ROUTE_NAMES}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {MODES}")
        behaviour = Behaviour(
            mode=mode,
            status=status or (504 if mode == GATEWAY_TIMEOUT else 400),
            delay=delay,
            effect=effect,
            body=body,
        )
        with self.lock:
            queue = self._behaviours.setdefault(route, deque())
            if times is None:
                queue.clear()
                queue.append(behaviour)
                self._sticky.add(route)
            else:
                if route in self._sticky:
                    self._sticky.discard(route)
                    queue.clear()
                queue.extend(Behaviour(**vars(behaviour)) for _ in range(times))

    def reset_answers(self) -> None:
        with self.lock:
            self._behaviours.clear()
            self._sticky.clear()

    def set_channel(
        self,
        channel: str,
        *,
        broadcasters: tuple[int, ...] | list[int] = (),
        audience: tuple[int, ...] | list[int] = (),
        audience_total: int | None = None,
    ) -> None:
        with self.lock:
            self.channels[channel] = {
                "broadcasters": list(broadcasters),
                "audience": list(audience),
                "audience_total": len(audience) if audience_total is None else audience_total,
            }

    def exit_recording(self, sid: str) -> None:
        """Agora ends a recording by itself (idle channel, failure)."""
        with self.lock:
            self.recordings[sid]["state"] = "exited"

    def requests_to(self, route: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.route == route]

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": [r.as_dict() for r in self.requests],
                "rules": list(self.rules.values()),
                "oneTimeKicks": self.one_time_kicks,
                "recordings": list(self.recordings.values()),
                "channels": self.channels,
                "messages": self.messages,
            }

    def _next_behaviour(self, route: str) -> Behaviour:
        with self.lock:
            queue = self._behaviours.get(route)
            if not queue:
                return Behaviour()
            if route in self._sticky:
                return queue[0]
            return queue.popleft()

    # --- Handling one request ----------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: Any, raw_body: bytes
    ) -> tuple[Answer, Behaviour]:
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        if path.startswith("/_standin/"):
            return self._control(method, path, raw_body), Behaviour()
        route, params = "", {}
        for name, route_method, pattern in ROUTES:
            matched = re.fullmatch(pattern, path)
            if matched and route_method == method:
                route, params = name, {k: unquote(v) for k, v in matched.groupdict().items()}
                break
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = raw_body.decode("utf-8", "replace")
        with self.lock:
            self.requests.append(
                Recorded(
                    method=method,
                    path=path,
                    route=route,
                    query=query,
                    authorization=headers.get("Authorization"),
                    content_type=headers.get("Content-Type"),
                    body=body,
                )
            )
        if not route:
            return Answer(404, {"message": "Not Found"}), Behaviour()
        if not self._authorized(headers.get("Authorization")):
            return Answer(401, {"message": "Invalid authentication credentials"}), Behaviour()
        behaviour = self._next_behaviour(route)
        if behaviour.mode == ERROR:
            default = {"message": f"stand-in error {behaviour.status}"}
            if route.startswith("recording."):
                default = {"code": behaviour.status, "reason": "stand-in error"}
            return Answer(behaviour.status, behaviour.body or default), behaviour
        if behaviour.mode == HANG or not behaviour.effect:
            return Answer(504, {"message": "upstream request timeout"}), behaviour
        answer = getattr(self, "_" + route.replace(".", "_").replace("-", "_"))(
            params=params, query=query, body=body
        )
        if behaviour.mode == GATEWAY_TIMEOUT:
            return Answer(504, {"message": "upstream request timeout"}), behaviour
        return answer, behaviour

    def _authorized(self, header: str | None) -> bool:
        if not (self.customer_key and self.customer_secret):
            return True
        expected = base64.b64encode(f"{self.customer_key}:{self.customer_secret}".encode()).decode()
        return header == f"Basic {expected}"

    def _wrong_app(self, appid: object) -> Answer | None:
        if self.app_id is not None and appid != self.app_id:
            return Answer(400, {"message": "invalid appid"})
        return None

    # Kicking rules ----------------------------------------------------------------

    def _kicking_rule_post(self, *, body: Any, **_: Any) -> Answer:
        if not isinstance(body, dict):
            return Answer(400, {"message": "invalid request body"})
        if (wrong := self._wrong_app(body.get("appid"))) is not None:
            return wrong
        privileges = body.get("privileges")
        if not isinstance(privileges, list) or not privileges or set(privileges) - PRIVILEGES:
            return Answer(400, {"message": "invalid privileges"})
        uid, cname, ip = body.get("uid"), body.get("cname"), body.get("ip")
        if uid == 0 or cname == "" or ip == 0 or not (uid or cname or ip):
            return Answer(400, {"message": "invalid cname, uid or ip"})
        if uid is not None and (not isinstance(uid, int) or isinstance(uid, bool)):
            return Answer(400, {"message": "invalid uid"})
        minutes = body.get("time", 60)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
            return Answer(400, {"message": "invalid time"})
        now = datetime.now(UTC)
        with self.lock:
            rule_id = next(self._rule_ids)
            rule = {
                "id": rule_id,
                "appid": body.get("appid"),
                "uid": uid or 0,
                "opid": rule_id + 400,
                "cname": cname or "",
                "ip": ip or "",
                "privileges": privileges,
                "time": minutes,
                "ts": _iso(now + timedelta(minutes=min(max(minutes, 1), 1440))),
                "createAt": _iso(now),
                "updateAt": _iso(now),
            }
            if minutes == 0:
                self.one_time_kicks.append(rule)  # kicked once; no rule stays
            else:
                self.rules[rule_id] = rule
        return Answer(200, {"status": "success", "id": rule_id})

    def _kicking_rule_get(self, *, query: dict[str, list[str]], **_: Any) -> Answer:
        appid = (query.get("appid") or [None])[0]
        if appid is None:
            return Answer(400, {"message": "appid is required"})
        if (wrong := self._wrong_app(appid)) is not None:
            return wrong
        with self.lock:
            rules = [dict(r) for r in self.rules.values() if r["appid"] == appid]
        return Answer(200, {"status": "success", "rules": rules})

    def _kicking_rule_delete(self, *, body: Any, **_: Any) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("id"), int):
            return Answer(400, {"message": "invalid request body"})
        if (wrong := self._wrong_app(body.get("appid"))) is not None:
            return wrong
        with self.lock:
            if self.rules.pop(body["id"], None) is None:
                return Answer(404, {"message": "rule not found"})
        return Answer(200, {"status": "success", "id": body["id"]})

    # Cloud Recording ----------------------------------------------------------------

    def _recording_acquire(self, *, params: dict[str, str], body: Any, **_: Any) -> Answer:
        if (wrong := self._wrong_app(params["appid"])) is not None:
            return wrong
        problem = _recording_identity(body)
        if problem:
            return Answer(400, {"code": 2, "reason": problem})
        resource = secrets.token_urlsafe(48)
        with self.lock:
            self.resources[resource] = {
                "cname": body["cname"],
                "uid": body["uid"],
                "used": False,
                "clientRequest": body.get("clientRequest"),
            }
        return Answer(200, {"cname": body["cname"], "uid": body["uid"], "resourceId": resource})

    def _recording_start(self, *, params: dict[str, str], body: Any, **_: Any) -> Answer:
        if (wrong := self._wrong_app(params["appid"])) is not None:
            return wrong
        if params["mode"] not in RECORDING_MODES:
            return Answer(400, {"code": 2, "reason": "invalid mode"})
        problem = _recording_identity(body)
        if problem:
            return Answer(400, {"code": 2, "reason": problem})
        client = body.get("clientRequest") or {}
        storage = client.get("storageConfig") if isinstance(client, dict) else None
        if not isinstance(storage, dict) or not all(
            storage.get(k) not in (None, "")
            for k in ("vendor", "region", "bucket", "accessKey", "secretKey")
        ):
            return Answer(400, {"code": 2, "reason": "invalid storageConfig"})
        prefix = storage.get("fileNamePrefix") or []
        if not all(isinstance(p, str) and p.isascii() and p.isalnum() for p in prefix):
            return Answer(400, {"code": 2, "reason": "invalid fileNamePrefix"})
        with self.lock:
            resource = self.resources.get(params["resource"])
            if resource is None or resource["used"]:
                return Answer(400, {"code": 53, "reason": "resource not found or used"})
            if (resource["cname"], resource["uid"]) != (body["cname"], body["uid"]):
                return Answer(400, {"code": 2, "reason": "cname or uid not as acquired"})
            resource["used"] = True
            sid = secrets.token_hex(16)
            formats = (client.get("recordingFileConfig") or {}).get("avFileType") or ["hls"]
            self.recordings[sid] = {
                "sid": sid,
                "resourceId": params["resource"],
                "mode": params["mode"],
                "cname": body["cname"],
                "uid": body["uid"],
                "token": client.get("token"),
                "storageConfig": storage,
                "recordingConfig": client.get("recordingConfig"),
                "formats": formats,
                "state": "recording",
            }
        return Answer(
            200,
            {
                "cname": body["cname"],
                "uid": body["uid"],
                "resourceId": params["resource"],
                "sid": sid,
            },
        )

    def _files(self, rec: dict[str, Any]) -> tuple[str, Any]:
        prefix = "/".join(rec["storageConfig"].get("fileNamePrefix") or [])
        base = f"{prefix + '/' if prefix else ''}{rec['sid']}_{rec['cname']}"
        if "mp4" not in rec["formats"]:
            return "string", f"{base}.m3u8"
        started = int(time.time() * 1000)
        return "json", [
            {
                "fileName": name,
                "trackType": "audio_and_video",
                "uid": "0",
                "mixedAllUser": True,
                "isPlayable": True,
                "sliceStartTime": started,
            }
            for name in (f"{base}_0.mp4", f"{base}.m3u8")
        ]

    def _recording(self, params: dict[str, str]) -> dict[str, Any] | None:
        rec = self.recordings.get(params["sid"])
        if rec is None or rec["resourceId"] != params["resource"] or rec["state"] != "recording":
            return None
        return rec

    def _recording_query(self, *, params: dict[str, str], **_: Any) -> Answer:
        with self.lock:
            rec = self._recording(params)
            if rec is None:
                return Answer(404, {"code": 404, "reason": "failed to find worker"})
            mode, files = self._files(rec)
        return Answer(
            200,
            {
                "cname": rec["cname"],
                "uid": rec["uid"],
                "resourceId": rec["resourceId"],
                "sid": rec["sid"],
                "serverResponse": {"status": 5, "fileListMode": mode, "fileList": files},
            },
        )

    def _recording_stop(self, *, params: dict[str, str], body: Any, **_: Any) -> Answer:
        with self.lock:
            rec = self._recording(params)
            if rec is None:
                return Answer(404, {"code": 404, "reason": "failed to find worker"})
            if not isinstance(body, dict) or (body.get("cname"), body.get("uid")) != (
                rec["cname"],
                rec["uid"],
            ):
                return Answer(400, {"code": 2, "reason": "cname or uid not as started"})
            rec["state"] = "stopped"
            mode, files = self._files(rec)
        return Answer(
            200,
            {
                "cname": rec["cname"],
                "uid": rec["uid"],
                "resourceId": rec["resourceId"],
                "sid": rec["sid"],
                "serverResponse": {
                    "fileListMode": mode,
                    "fileList": files,
                    "uploadingStatus": "uploaded",
                },
            },
        )

    # Channel users, Signaling ------------------------------------------------------

    def _channel_users(self, *, params: dict[str, str], **_: Any) -> Answer:
        if (wrong := self._wrong_app(params["appid"])) is not None:
            return wrong
        with self.lock:
            channel = self.channels.get(params["channel"])
            if channel is None:
                return Answer(200, {"success": True, "data": {"channel_exist": False}})
            data = {
                "channel_exist": True,
                "mode": 2,
                "broadcasters": list(channel["broadcasters"]),
                "audience": list(channel["audience"])[:10000],
                "audience_total": channel["audience_total"],
            }
        return Answer(200, {"success": True, "data": data})

    def _rtm_channel_message(self, *, params: dict[str, str], body: Any, **_: Any) -> Answer:
        if (wrong := self._wrong_app(params["appid"])) is not None:
            return wrong
        user = params["user"]
        failed = {"result": "failed", "request_id": secrets.token_hex(8)}
        if not isinstance(body, dict) or not (0 < len(user) <= 64):
            return Answer(400, {**failed, "code": "invalid_params"})
        channel, payload = body.get("channel_name"), body.get("payload")
        if not isinstance(channel, str) or not 0 < len(channel) <= 64:
            return Answer(400, {**failed, "code": "invalid_channel_name"})
        if not isinstance(payload, str) or not 0 < len(payload.encode()) <= MAX_RTM_PAYLOAD:
            return Answer(400, {**failed, "code": "invalid_payload"})
        request_id = secrets.token_hex(8)
        with self.lock:
            self.messages.append(
                {
                    "from": user,
                    "channel": channel,
                    "payload": payload,
                    "history": bool(body.get("enable_historical_messaging")),
                    "requestId": request_id,
                }
            )
        return Answer(200, {"result": "success", "request_id": request_id, "code": "message_sent"})

    # Control (for a stand-in run from a shell) ---------------------------------------

    def _control(self, method: str, path: str, raw_body: bytes) -> Answer:
        try:
            body = json.loads(raw_body) if raw_body else {}
        except ValueError:
            return Answer(400, {"message": "not JSON"})
        try:
            if (method, path) == ("GET", "/_standin/state"):
                return Answer(200, self.state())
            if (method, path) == ("POST", "/_standin/answer"):
                self.answer(
                    body["route"],
                    body["mode"],
                    times=body.get("times", 1),
                    status=body.get("status"),
                    delay=float(body.get("delay", 0)),
                    effect=body.get("effect", True),
                )
                return Answer(200, {"ok": True})
            if (method, path) == ("POST", "/_standin/channel"):
                self.set_channel(
                    body["channel"],
                    broadcasters=body.get("broadcasters", []),
                    audience=body.get("audience", []),
                )
                return Answer(200, {"ok": True})
        except (KeyError, ValueError, TypeError) as exc:
            return Answer(400, {"message": str(exc)})
        return Answer(404, {"message": "Not Found"})


def _recording_identity(body: Any) -> str:
    if not isinstance(body, dict):
        return "invalid request body"
    cname, uid = body.get("cname"), body.get("uid")
    if not isinstance(cname, str) or not cname:
        return "invalid cname"
    if not isinstance(uid, str) or not uid.isdigit() or not 0 < int(uid) < 2**32:
        return "uid must be a string holding an integer from 1 to 2^32-1"
    if not isinstance(body.get("clientRequest"), dict):
        return "clientRequest is required"
    return ""


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _handler_for(stand_in: AgoraStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            answer, behaviour = stand_in.handle(self.command, self.path, self.headers, raw)
            if stand_in.log:
                print(
                    f"{self.command} {self.path} -> {answer.status} ({behaviour.mode})", flush=True
                )
            if behaviour.mode == HANG:
                stand_in.release.wait()
                return
            if behaviour.mode == SLOW and stand_in.release.wait(behaviour.delay):
                return
            payload = json.dumps(answer.body).encode()
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up (timed out) meanwhile
                pass

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--customer-key", default=None, help="refuse other credentials (401)")
    parser.add_argument("--customer-secret", default=None)
    parser.add_argument("--app-id", default=None, help="refuse other app ids (400)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    stand_in = AgoraStandIn(
        customer_key=args.customer_key,
        customer_secret=args.customer_secret,
        app_id=args.app_id,
        log=True,
    ).start(args.port)
    print(f"Agora stand-in on {stand_in.url} (AGORA_REST_BASE_URL={stand_in.url})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stand_in.stop()


if __name__ == "__main__":
    main()
