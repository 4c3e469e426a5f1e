"""The OpenAPI schema at /api/schema/ and the playground at /api/docs/ (issue 5).

The schema is fetched as an anonymous client would, validated as an OpenAPI 3
document, compared with the URL configuration, and compared with what the API
really answers: every operation is called once and its response is validated
against the schema the playground shows.
"""

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from jsonschema import FormatChecker, ValidationError
from PIL import Image
from rest_framework.test import APIClient

from allmine.core.errors import ERROR_TEXTS
from allmine.core.ids import new_object_id
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import GiftType, LiveStreamType
from tests.api import TIMESTAMP_RE
from tests.factories import DEFAULT_PASSWORD, LiveStreamFactory, UserFactory
from tests.helpers import grant

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_URL = "/api/schema/?format=json"
DOCS_URL = "/api/docs/"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
MUTATING = {"post", "put", "patch", "delete"}
ENVELOPE_KEYS = {"isSuccess", "statusCode", "data", "errors", "timestamp"}
# The seed pages' warning, word for word.
SEED_WARNING = (
    "Bu endpoint veri degistirir veya operasyon tetikleyebilir. API Playground icinde "
    "Production server seciliyse gercek production verisi etkilenir; test icin "
    "Development server kullanin."
)
# Issue 5: "per user on the join, renew and create endpoints, per client address on
# login and register".
THROTTLED = {
    ("post", "/api/v1/live-stream/join-as-creator"),
    ("post", "/api/v1/live-stream/join-as-guest"),
    ("post", "/api/v1/live-stream/join"),
    ("post", "/api/v1/live-stream/renew-token"),
    ("post", "/api/v1/live-stream/create"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/register"),
    # API-more §6.5
    ("post", "/api/v1/gifts/create"),
    ("post", "/api/v1/live-stream-reports/{stream_id}"),
    ("post", "/api/v1/live-stream/{stream_id}/chat/messages"),
    ("post", "/api/v1/live-stream/{stream_id}/chat/superlike"),
    # Issue 10: image uploads per user.
    ("patch", "/api/v1/users/profile/photo"),
}
# Endpoints that take no token (authentication_classes = []).
OPEN = {
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/health"),
}
# Operations that refuse a change because of the state of something (§3, §4).
STATE_CONFLICTS = {
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/live-stream/create"),
    ("post", "/api/v1/live-stream/join-as-creator"),
    ("post", "/api/v1/live-stream/join-as-guest"),
    ("post", "/api/v1/live-stream/join"),
    ("post", "/api/v1/live-stream/renew-token"),
    ("post", "/api/v1/live-stream/{live_stream_id}/end"),
    ("post", "/api/v1/live-stream/{live_stream_id}/cancel"),
    ("post", "/api/v1/live-stream/{live_stream_id}/fund"),
    ("post", "/api/v1/live-stream/{live_stream_id}/replay-rentals"),
    ("delete", "/api/v1/live-stream/{live_stream_id}"),
    ("post", "/api/v1/live-stream-ban"),
    ("delete", "/api/v1/live-stream-ban/{ban_id}"),
    ("post", "/api/v1/live-stream/{live_stream_id}/reminder"),
    ("post", "/api/v1/live-stream-reports/{stream_id}"),
    ("post", "/api/v1/gifts/create"),
    ("post", "/api/v1/live-stream/{stream_id}/chat/messages"),
    ("post", "/api/v1/live-stream/{stream_id}/chat/superlike"),
}
# Endpoints that take a token if one is sent (API-more §6.1: auth optional or none).
OPTIONAL_TOKEN = {
    ("get", "/api/v1/live-stream/featured"),
    ("get", "/api/v1/live-stream/catch-streamers"),
    ("get", "/api/v1/live-stream/most-watched-creators"),
    ("get", "/api/v1/live-stream/user/{user_id}/past-streams"),
    ("get", "/api/v1/live-stream/user/{user_id}/upcoming-live-streams"),
    ("get", "/api/v2/live-stream/user/{user_id}/upcoming-live-streams"),
}


@pytest.fixture(scope="module")
def schema() -> dict:
    response = APIClient().get(SCHEMA_URL)
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


def component(schema, ref_holder: dict) -> dict:
    ref = ref_holder["$ref"]
    assert ref.startswith("#/components/schemas/"), ref
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def payload_schema(schema, method: str, path: str, status: int) -> dict:
    """The `data` schema of a documented success response."""
    response = schema["paths"][path][method]["responses"][str(status)]
    return response["content"]["application/json"]["schema"]["properties"]["data"]


def api_routes() -> dict[str, tuple[type, set[str]]]:
    """Every URL under /api/v1/ as the schema writes it, with its view class and methods."""
    routes = {}

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif route.startswith(("api/v1/", "api/v2/")):
                view_class = pattern.callback.view_class
                methods = {m for m in HTTP_METHODS if hasattr(view_class, m)}
                routes["/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)] = (view_class, methods)

    walk(get_resolver().url_patterns, "")
    return routes


# --- The document ----------------------------------------------------------------------


def test_the_schema_is_a_valid_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")
    try:
        from openapi_spec_validator import validate
    except ImportError:  # the validator that ships with drf-spectacular
        from drf_spectacular.validation import validate_schema as validate
    validate(schema)


def test_the_schema_is_served_to_an_anonymous_client_as_json():
    response = APIClient().get(SCHEMA_URL)
    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    assert json.loads(response.content)["info"]["title"] == settings.SPECTACULAR_SETTINGS["TITLE"]


def test_every_url_of_the_api_is_in_the_schema_with_its_methods(schema):
    routes = api_routes()
    assert len(routes) >= 25  # the walk found the API, not an empty list
    documented = {
        path: {m for m in item if m in HTTP_METHODS} for path, item in schema["paths"].items()
    }
    assert set(documented) == set(routes)
    for path, (_view, methods) in routes.items():
        assert documented[path] == methods, path


def test_operation_ids_are_unique(schema):
    ids = [operation["operationId"] for _m, _p, operation in operations(schema)]
    assert len(ids) == len(set(ids))


def _servers_in(**environ) -> list[tuple[str, str]]:
    """The servers of the schema `manage.py spectacular` writes in a fresh process
    with only `environ` set (nothing inherited from this test run)."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--format", "openapi-json"],
        cwd=ROOT,
        env={**env, **environ},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [(s["description"], s["url"]) for s in json.loads(result.stdout)["servers"]]


def test_in_development_the_playground_tries_requests_on_the_server_it_was_loaded_from(tmp_path):
    """ "/" is resolved against the schema's own address, so "Try it out" works
    whether the browser opened localhost or 127.0.0.1."""
    environ = {"DJANGO_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path / 'db'}"}
    assert _servers_in(**environ) == [
        ("Development", "/"),
        ("Production", "https://api.allmine.example"),
    ]
    assert _servers_in(**environ, API_DEVELOPMENT_URL="http://10.0.0.5:8000") == [
        ("Development", "http://10.0.0.5:8000"),
        ("Production", "https://api.allmine.example"),
    ]


def test_in_production_the_playground_lists_production_first(tmp_path):
    environ = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": "test-only-" + "k" * 60,
        "ALLOWED_HOSTS": "api.allmine.example",
        "AGORA_APP_ID": "0123456789abcdef0123456789abcdef",
        "AGORA_APP_CERTIFICATE": "fedcba9876543210fedcba9876543210",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "PUBLIC_BASE_URL": "https://live.allmine.example",
    }
    assert _servers_in(**environ) == [
        ("Production", "https://api.allmine.example"),
        ("Development", "https://live.allmine.example"),
    ]
    assert _servers_in(
        **environ,
        API_PRODUCTION_URL="https://api.example.com",
        API_DEVELOPMENT_URL="https://staging.example.com",
    ) == [("Production", "https://api.example.com"), ("Development", "https://staging.example.com")]


def test_the_served_schema_lists_the_servers_of_the_settings(schema):
    assert schema["servers"] == settings.API_SERVERS
    assert schema["servers"][0]["description"] == "Development"  # the tests never run production


# --- The envelope ----------------------------------------------------------------------


def test_every_success_response_is_wrapped_in_the_envelope(schema):
    checked = 0
    for method, path, operation in operations(schema):
        successes = [code for code in operation["responses"] if code.startswith("2")]
        assert len(successes) == 1, (method, path)
        for code in successes:
            content = operation["responses"][code]["content"]
            assert list(content) == ["application/json"], (method, path)
            body = content["application/json"]["schema"]
            assert set(body["properties"]) == ENVELOPE_KEYS, (method, path)
            assert set(body["required"]) == ENVELOPE_KEYS
            assert body["properties"]["isSuccess"]["enum"] == [True]
            assert body["properties"]["statusCode"]["enum"] == [int(code)]
            assert body["properties"]["errors"]["maxItems"] == 0
            assert body["properties"]["timestamp"]["format"] == "date-time"
            assert body["properties"]["data"], (method, path)
            checked += 1
    assert checked >= 25


def test_every_error_response_is_the_error_envelope_with_the_fixed_text(schema):
    error_envelope = schema["components"]["schemas"]["ErrorEnvelope"]
    assert set(error_envelope["required"]) == ENVELOPE_KEYS
    assert error_envelope["properties"]["isSuccess"]["enum"] == [False]
    assert error_envelope["properties"]["data"]["enum"] == [None]
    assert error_envelope["properties"]["errors"]["minItems"] == 1
    for method, path, operation in operations(schema):
        for code, response in operation["responses"].items():
            if int(code) < 400:
                continue
            media = response["content"]["application/json"]
            assert component(schema, media["schema"]) is error_envelope
            example = media["example"]
            assert example["isSuccess"] is False
            assert example["statusCode"] == int(code)
            assert example["data"] is None
            assert example["errors"] == [ERROR_TEXTS[int(code)]], (method, path, code)
            assert response["description"].startswith(ERROR_TEXTS[int(code)])


def test_error_statuses_are_documented_where_they_can_happen(schema):
    for method, path, operation in operations(schema):
        codes = {int(code) for code in operation["responses"]}
        where = (method, path)
        assert {400, 413, 500} <= codes, where
        assert (401 in codes) == (
            "security" in operation
            or where
            in {
                ("post", "/api/v1/auth/login"),
                ("post", "/api/v1/auth/refresh"),
                ("post", "/api/v1/auth/logout"),
                ("post", "/api/v1/agora/events"),
            }
        ), where
        if "{" in path:
            assert 404 in codes, where
        if "requestBody" in operation:
            assert 415 in codes, where
        assert (429 in codes) == (where in THROTTLED), where
        if where in THROTTLED:
            assert "Retry-After" in operation["responses"]["429"]["headers"]
        if where in STATE_CONFLICTS:
            assert 409 in codes, where
    for path in ("/api/v1/live-stream/join-as-creator", "/api/v1/live-stream/join-as-guest"):
        # the six response bodies of the seed page
        assert {200, 400, 401, 403, 404, 409} <= {
            int(c) for c in schema["paths"][path]["post"]["responses"]
        }
    assert "503" in schema["paths"]["/api/v1/health"]["get"]["responses"]


# --- Authentication --------------------------------------------------------------------


def test_the_bearer_scheme_is_the_only_security_scheme(schema):
    schemes = schema["components"]["securitySchemes"]
    assert len(schemes) == 1
    ((name, scheme),) = schemes.items()
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for method, path, operation in operations(schema):
        if (method, path) in OPTIONAL_TOKEN:
            assert operation["security"] == [{name: []}, {}], (method, path)
        elif "security" in operation:
            assert operation["security"] == [{name: []}], (method, path)


def test_open_endpoints_have_no_security_requirement_and_the_rest_need_the_token(schema):
    routes = api_routes()
    open_operations = {
        (method, path)
        for path, (view_class, methods) in routes.items()
        for method in methods
        if view_class.authentication_classes == []
    }
    assert open_operations >= OPEN
    for method, path, operation in operations(schema):
        if (method, path) in open_operations:
            assert "security" not in operation, (method, path)
        else:
            assert operation["security"], (method, path)


# --- Types -----------------------------------------------------------------------------


def test_ids_are_24_hex_strings(schema):
    components = schema["components"]["schemas"]
    id_fields = [
        components["LiveStream"]["properties"]["id"],
        components["LiveStream"]["properties"]["guests"]["items"],
        components["UserSummary"]["properties"]["_id"],
        components["Me"]["properties"]["_id"],
        components["ProfilePhoto"]["properties"]["_id"],
        components["Broadcaster"]["properties"]["user"],
        components["Ban"]["properties"]["targetUserId"],
        components["LiveStreamIdInputRequest"]["properties"]["liveStreamId"],
        components["BanCreateInputRequest"]["properties"]["targetUserId"],
        components["RtmCredentials"]["properties"]["userId"],
    ]
    path_ids = [
        parameter["schema"]
        for _m, _p, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    ]
    assert len(path_ids) >= 10
    for field in id_fields + path_ids:
        assert field["type"] == "string"
        pattern = re.compile(field["pattern"])
        assert pattern.search(new_object_id())
        assert not pattern.search("64D15F9E2E6C8F4D5A123456")
        assert not pattern.search("64d15f9e2e6c8f4d5a12345")
        assert not pattern.search("64d15f9e2e6c8f4d5a1234567")
    # The Agora App ID is no object id.
    assert "pattern" not in components["AgoraCredentials"]["properties"]["appId"]


def _value_schema(spec: dict) -> dict:
    """A form field that may be null is `anyOf: [its schema, ""]` (issue 10: in a
    form, an empty value means null); its schema is the first branch."""
    if "anyOf" in spec and spec["anyOf"][-1] == {"type": "string", "maxLength": 0}:
        return spec["anyOf"][0]
    return spec


def test_timestamps_are_date_times_and_money_is_a_number(schema):
    components = schema["components"]["schemas"]
    timestamps = 0
    for name, definition in components.items():
        for field, spec in definition.get("properties", {}).items():
            if field.endswith("At") or field in ("plannedStartDate", "plannedEndDate"):
                assert _value_schema(spec).get("format") == "date-time", (name, field)
                timestamps += 1
    assert timestamps >= 20
    money = {
        "LiveStream": ["price", "fundingGoal", "collectedFunding", "replayCreditPrice"],
        "ReplayAccess": ["price"],
        "MiniCrowdFunding": ["goal", "collected"],
        "Contribution": ["amount"],
        "CreditTransaction": ["amount", "balanceAfter"],
        "GiftType": ["creditAmount"],
        "GiftTypeShort": ["creditAmount"],
        "ParticipantStatistics": ["averageWatchTimeMinutes"],
        "Me": ["creditBalance"],
        "FundInputRequest": ["amount"],
        "LiveStreamCreateInputRequest": ["price", "fundingGoal", "replayCreditPrice"],
    }
    for name, fields in money.items():
        for field in fields:
            spec = _value_schema(components[name]["properties"][field])
            assert spec["type"] == "number", (name, field)


def test_the_fixed_vocabularies_are_enums(schema):
    properties = schema["components"]["schemas"]["LiveStream"]["properties"]
    assert set(properties["status"]["enum"]) == set(LiveStreamStatus.values)
    assert set(properties["liveStreamType"]["enum"]) == set(LiveStreamType.values)
    assert properties["accessType"]["enum"] == ["free", "paid"]
    assert properties["role"]["enum"] == ["host", "guest", "audience", None]
    replay = schema["components"]["schemas"]["ReplayAccess"]["properties"]
    assert replay["status"]["enum"] == ["owner", "guest", "rented", "expired", "none"]


# --- Requests and payloads -------------------------------------------------------------


def test_create_takes_multipart_with_a_binary_thumbnail_or_json(schema):
    body = schema["paths"]["/api/v1/live-stream/create"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json"}
    multipart = component(schema, body["multipart/form-data"]["schema"])
    assert multipart["properties"]["thumbnail"]["format"] == "binary"
    assert multipart["required"] == ["title"]
    as_json = component(schema, body["application/json"]["schema"])
    assert "thumbnail" not in as_json["properties"]
    assert set(as_json["properties"]) == set(multipart["properties"]) - {"thumbnail"}


def test_the_profile_photo_is_a_multipart_file(schema):
    body = schema["paths"]["/api/v1/users/profile/photo"]["patch"]["requestBody"]
    assert list(body["content"]) == ["multipart/form-data"]
    photo = component(schema, body["content"]["multipart/form-data"]["schema"])
    file = photo["properties"]["file"]
    assert (file["type"], file["format"], file["minLength"]) == ("string", "binary", 1)
    assert photo["required"] == ["file"]


def test_json_endpoints_document_only_json_bodies(schema):
    for method, path, operation in operations(schema):
        if "requestBody" not in operation or path in (
            "/api/v1/live-stream/create",
            "/api/v1/users/profile/photo",
        ):
            continue
        assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)


def test_a_body_that_must_carry_a_field_is_required(schema):
    components = schema["components"]["schemas"]
    for method, path, operation in operations(schema):
        body = operation.get("requestBody")
        if not body:
            continue
        for media in body["content"].values():
            component = components.get(media["schema"].get("$ref", "").rsplit("/", 1)[-1], {})
            if component.get("required") or component.get("anyOf"):
                assert body.get("required") is True, (method, path)
    replay = schema["paths"]["/api/v1/live-stream/{live_stream_id}/replay-settings"]["patch"]
    assert replay["requestBody"]["required"] is True


def test_the_payloads_of_the_core_endpoints(schema):
    created = component(schema, payload_schema(schema, "post", "/api/v1/live-stream/create", 201))
    assert created is schema["components"]["schemas"]["LiveStream"]
    assert list(created["properties"])[:8] == [
        "id",
        "title",
        "liveStreamType",
        "channelName",
        "broadcasters",
        "guests",
        "creator",
        "thumbnailUrl",
    ]
    for path in ("join-as-creator", "join-as-guest", "join"):
        joined = component(
            schema, payload_schema(schema, "post", f"/api/v1/live-stream/{path}", 200)
        )
        assert list(joined["properties"]) == ["liveStream", "agora", "rtm"]
        assert component(schema, joined["properties"]["liveStream"]) is created
        agora = component(schema, joined["properties"]["agora"])
        assert set(agora["properties"]) == {
            "appId", "channelName", "token", "uid", "role", "expiresAt"
        }  # fmt: skip
        rtm = component(schema, joined["properties"]["rtm"])
        assert set(rtm["properties"]) == {"appId", "channelName", "userId", "token", "expiresAt"}
    renewed = component(
        schema, payload_schema(schema, "post", "/api/v1/live-stream/renew-token", 200)
    )
    assert list(renewed["properties"]) == ["agora", "rtm"]
    listed = payload_schema(schema, "get", "/api/v1/live-stream", 200)
    assert listed["type"] == "array"  # API-more §14: the totals travel in headers
    assert component(schema, listed["items"]) is created
    headers = schema["paths"]["/api/v1/live-stream"]["get"]["responses"]["200"]["headers"]
    assert set(headers) == {"X-Total-Count", "Link"}
    page = component(
        schema, payload_schema(schema, "get", "/api/v1/live-stream/my-replay-rentals", 200)
    )
    assert component(schema, page["properties"]["list"]["items"]) is created
    pagination = component(schema, page["properties"]["pagination"])
    assert set(pagination["properties"]) == {
        "currentPage", "totalPages", "totalItems", "itemsPerPage", "hasNextPage", "hasPrevPage"
    }  # fmt: skip
    session = component(schema, payload_schema(schema, "post", "/api/v1/auth/login", 200))
    assert set(session["properties"]) == {
        "accessToken", "refreshToken", "expiresIn", "refreshExpiresIn", "user"
    }  # fmt: skip


# --- The Production warning ------------------------------------------------------------


def test_every_mutating_operation_warns_about_production_and_no_read_does(schema):
    mutating = 0
    for method, path, operation in operations(schema):
        description = operation.get("description", "")
        if method in MUTATING:
            mutating += 1
            warning = operation["x-production-warning"]
            assert warning["tr"] == SEED_WARNING
            assert "Production server" in warning["en"] and "Development" in warning["en"]
            assert description.startswith("**Production warning:**"), (method, path)
            assert SEED_WARNING in description and warning["en"] in description
        else:
            assert "x-production-warning" not in operation, (method, path)
            assert "Production" not in description, (method, path)
    assert mutating >= 18


# --- The playground --------------------------------------------------------------------


def test_the_playground_loads_swagger_ui_from_our_own_static_files():
    response = APIClient().get(DOCS_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
    styles = re.findall(r"<link[^>]*\bhref=\"([^\"]+)\"", html)
    assert any("swagger-ui-bundle" in src for src in scripts)
    for url in scripts + styles:
        assert url.startswith(settings.STATIC_URL), url
        assert not re.match(r"(https?:)?//", url), url
        assert finders.find(url.removeprefix(settings.STATIC_URL)), url
    assert "/api/schema/" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


# --- The schema against what the API answers ---------------------------------------------


def _as_strict_json_schema(node):
    """The schema as a strict JSON Schema validator should read it: OAS 3.0 writes
    a nullable reference as `{allOf: [ref], nullable: true}`, which such a validator
    takes for never-null; and an object documented with properties may not carry
    undocumented ones (so a field the API sends but the schema lacks is caught)."""
    if isinstance(node, list):
        return [_as_strict_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_strict_json_schema(value) for key, value in node.items()}
    if node.get("nullable") and "allOf" in node and "type" not in node:
        rest = {k: v for k, v in node.items() if k not in ("allOf", "nullable")}
        return {"anyOf": [{"allOf": node["allOf"]}, {"enum": [None]}], **rest}
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    return node


CONTRACT_FORMATS = FormatChecker(formats=())


@CONTRACT_FORMATS.checks("date-time")
def _is_contract_timestamp(value) -> bool:
    """§1: UTC with milliseconds and `Z`."""
    return not isinstance(value, str) or TIMESTAMP_RE.match(value) is not None


@CONTRACT_FORMATS.checks("uri")
def _is_absolute_url(value) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class ResponseChecker:
    """Validates real responses against the schema (with the contract's formats for
    timestamps and URLs) and notes which operations answered with success."""

    def __init__(self, schema):
        validators = pytest.importorskip("openapi_schema_validator")
        self.validate = validators.validate
        self.validator = validators.OAS30ReadValidator
        self.schema = schema
        self.components = _as_strict_json_schema(schema["components"])
        self.succeeded = set()

    def __call__(self, method: str, path: str, response, status: int):
        assert response.status_code == status, (method, path, response.content[:300])
        responses = self.schema["paths"][path][method]["responses"]
        assert str(status) in responses, f"{method.upper()} {path}: {status} is not documented"
        body = response.json()
        documented = responses[str(status)]["content"]["application/json"]["schema"]
        self.validate(
            body,
            {**_as_strict_json_schema(documented), "components": self.components},
            cls=self.validator,
            format_checker=CONTRACT_FORMATS,
        )
        if status < 300:
            self.succeeded.add((method, path))
        return body["data"]


def _png() -> BytesIO:
    buffer = BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 60)).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "picture.png"
    return buffer


@pytest.mark.django_db
def test_every_operation_answers_as_the_schema_says(schema, client_for, media_root, settings):
    check = ResponseChecker(schema)
    anonymous = APIClient()
    creator, guest, viewer, other = UserFactory.create_batch(4)
    grant(viewer, "100")
    as_creator, as_guest, as_viewer = client_for(creator), client_for(guest), client_for(viewer)

    # Accounts
    session = check(
        "post",
        "/api/v1/auth/register",
        anonymous.post(
            "/api/v1/auth/register",
            {
                "username": "schema_user",
                "email": "schema@example.com",
                "password": DEFAULT_PASSWORD,
                "name": "Ada",
                "surname": "Lovelace",
            },
            format="json",
        ),
        201,
    )
    login = {"login": "schema_user", "password": DEFAULT_PASSWORD}
    session = check(
        "post",
        "/api/v1/auth/login",
        anonymous.post("/api/v1/auth/login", login, format="json"),
        200,
    )
    check(
        "post",
        "/api/v1/auth/login",
        anonymous.post("/api/v1/auth/login", {**login, "password": "wrong"}, format="json"),
        401,
    )
    session = check(
        "post",
        "/api/v1/auth/refresh",
        anonymous.post(
            "/api/v1/auth/refresh", {"refreshToken": session["refreshToken"]}, format="json"
        ),
        200,
    )
    check(
        "post",
        "/api/v1/auth/logout",
        anonymous.post(
            "/api/v1/auth/logout", {"refreshToken": session["refreshToken"]}, format="json"
        ),
        200,
    )
    check("get", "/api/v1/auth/me", anonymous.get("/api/v1/auth/me"), 401)
    check("get", "/api/v1/auth/me", as_creator.get("/api/v1/auth/me"), 200)
    check(
        "patch",
        "/api/v1/users/profile/photo",
        as_creator.patch("/api/v1/users/profile/photo", {"file": _png()}, format="multipart"),
        200,
    )
    me = check("get", "/api/v1/auth/me", as_creator.get("/api/v1/auth/me"), 200)
    assert me["profilePhoto"] is not None
    check("get", "/api/v1/health", anonymous.get("/api/v1/health"), 200)

    # A duo stream, from creation to the end
    stream = check(
        "post",
        "/api/v1/live-stream/create",
        as_creator.post(
            "/api/v1/live-stream/create",
            {
                "title": "Yeni ürün tanıtımı",
                "liveStreamType": "duoself",
                "guests": json.dumps([guest.pk]),
                "thumbnail": _png(),
                "fundingGoal": "100",
            },
            format="multipart",
        ),
        201,
    )
    check(
        "post",
        "/api/v1/live-stream/create",
        as_creator.post("/api/v1/live-stream/create", {"title": "Second"}, format="json"),
        409,
    )
    by_id = {"liveStreamId": stream["id"]}
    detail = f"/api/v1/live-stream/{stream['id']}"
    check(
        "post",
        "/api/v1/live-stream/join-as-creator",
        as_viewer.post("/api/v1/live-stream/join-as-creator", by_id, format="json"),
        403,
    )
    check(
        "post",
        "/api/v1/live-stream/join-as-creator",
        as_creator.post("/api/v1/live-stream/join-as-creator", by_id, format="json"),
        200,
    )
    check(
        "post",
        "/api/v1/live-stream/join-as-guest",
        as_guest.post("/api/v1/live-stream/join-as-guest", by_id, format="json"),
        200,
    )
    check(
        "post",
        "/api/v1/live-stream/join",
        as_viewer.post("/api/v1/live-stream/join", {**by_id, "deviceType": "ios"}, format="json"),
        200,
    )
    check(
        "post",
        "/api/v1/live-stream/renew-token",
        as_viewer.post("/api/v1/live-stream/renew-token", by_id, format="json"),
        200,
    )
    check(
        "get",
        "/api/v1/live-stream/{live_stream_id}/viewer-count",
        as_viewer.get(f"{detail}/viewer-count"),
        200,
    )
    check(
        "get",
        "/api/v1/live-stream/{live_stream_id}/replay-status",
        as_viewer.get(f"{detail}/replay-status"),
        200,
    )
    check("get", "/api/v1/live-stream/{live_stream_id}", as_viewer.get(detail), 200)
    check(
        "get",
        "/api/v1/live-stream/{live_stream_id}",
        as_viewer.get("/api/v1/live-stream/not-an-id"),
        400,
    )
    check(
        "get",
        "/api/v1/live-stream/{live_stream_id}",
        as_viewer.get(f"/api/v1/live-stream/{new_object_id()}"),
        404,
    )
    page = check(
        "get",
        "/api/v1/live-stream",
        as_viewer.get("/api/v1/live-stream", {"status": "active", "limit": 5}),
        200,
    )
    assert [s["id"] for s in page] == [stream["id"]]

    # The room (API-more §7.1-§7.3, §7.10, §7.11, §10, §11, §12)
    featured = check(
        "get", "/api/v1/live-stream/featured", anonymous.get("/api/v1/live-stream/featured"), 200
    )
    assert [s["id"] for s in featured] == [stream["id"]]
    check(
        "get",
        "/api/v1/live-stream/catch-streamers",
        as_viewer.get("/api/v1/live-stream/catch-streamers", {"limit": 3}),
        200,
    )
    check(
        "get",
        "/api/v1/live-stream/catch-streamers",
        anonymous.get("/api/v1/live-stream/catch-streamers", {"limit": "x"}),
        400,
    )
    watched = check(
        "get",
        "/api/v1/live-stream/most-watched-creators",
        anonymous.get("/api/v1/live-stream/most-watched-creators"),
        200,
    )
    assert [c["_id"] for c in watched] == [creator.pk]
    viewers = check(
        "get",
        "/api/v1/live-stream/{live_stream_id}/viewers",
        as_creator.get(f"{detail}/viewers", {"search": viewer.username[:4]}),
        200,
    )
    assert viewers["participantAudienceTotal"] == 1
    heart = GiftType.objects.create(credit_amount=Decimal("2.5"), svg="gifts/heart.svg")
    types = check("get", "/api/v1/gifts/gift-types", as_viewer.get("/api/v1/gifts/gift-types"), 200)
    assert [t["id"] for t in types] == [heart.pk]
    gift = {"giftTypeId": heart.pk, "liveStreamId": stream["id"]}
    check(
        "post",
        "/api/v1/gifts/create",
        as_viewer.post("/api/v1/gifts/create", gift, format="json"),
        201,
    )
    check(
        "post",
        "/api/v1/gifts/create",
        as_creator.post("/api/v1/gifts/create", gift, format="json"),
        403,
    )
    chat = f"{detail}/chat/messages"
    sent = check(
        "post",
        "/api/v1/live-stream/{stream_id}/chat/messages",
        as_viewer.post(chat, {"content": "Merhaba!"}, format="json"),
        201,
    )
    check(
        "post",
        "/api/v1/live-stream/{stream_id}/chat/messages",
        as_viewer.post(chat, {"content": "a\tb"}, format="json"),
        400,
    )
    history = check(
        "get",
        "/api/v1/live-stream/{stream_id}/chat/messages",
        as_guest.get(chat, {"limit": 5}),
        200,
    )
    assert [m["_id"] for m in history["messages"]] == [sent["_id"]]
    check(
        "post",
        "/api/v1/live-stream/{stream_id}/chat/superlike",
        as_viewer.post(f"{detail}/chat/superlike"),
        201,
    )
    check(
        "post",
        "/api/v1/live-stream/{stream_id}/chat/superlike",
        as_creator.post(f"{detail}/chat/superlike"),
        403,
    )
    statistics = check(
        "get",
        "/api/v1/live-stream/{live_stream_id}/gift-statistics",
        as_guest.get(f"{detail}/gift-statistics"),
        200,
    )
    assert statistics["totalCount"] == 1
    participants = f"/api/v1/participant/stream/{stream['id']}/statistics"
    check(
        "get",
        "/api/v1/participant/stream/{stream_id}/statistics",
        as_creator.get(participants),
        200,
    )
    check(
        "get",
        "/api/v1/participant/stream/{stream_id}/statistics",
        as_viewer.get(participants),
        403,
    )
    reports = f"/api/v1/live-stream-reports/{stream['id']}"
    check(
        "post",
        "/api/v1/live-stream-reports/{stream_id}",
        as_viewer.post(reports, {"type": "spam"}, format="json", HTTP_X_PLATFORM="ios"),
        201,
    )
    check(
        "post",
        "/api/v1/live-stream-reports/{stream_id}",
        as_viewer.post(reports, {"type": "spam"}, format="json"),
        409,
    )
    check(
        "post",
        "/api/v1/live-stream/{live_stream_id}/reminder",
        as_viewer.post(f"{detail}/reminder", {"minute": 5}, format="json"),
        409,
    )

    ban = check(
        "post",
        "/api/v1/live-stream-ban",
        as_creator.post(
            "/api/v1/live-stream-ban",
            {**by_id, "targetUserId": viewer.pk, "actionType": "CHAT_ONLY"},
            format="json",
        ),
        200,
    )
    banned = check(
        "get",
        "/api/v1/live-stream-ban/check/{target_user_id}",
        as_viewer.get(f"/api/v1/live-stream-ban/check/{viewer.pk}", by_id),
        200,
    )
    assert banned["isBanned"] is True and banned["ban"]["_id"] == ban["_id"]
    check(
        "get",
        "/api/v1/live-stream-ban/check/{target_user_id}",
        as_guest.get(f"/api/v1/live-stream-ban/check/{viewer.pk}", by_id),
        403,
    )
    check(
        "get",
        "/api/v1/live-stream-ban",
        as_creator.get("/api/v1/live-stream-ban", by_id),
        200,
    )
    check(
        "get",
        "/api/v1/live-stream-ban",
        as_creator.get("/api/v1/live-stream-ban", {"actionType": "CHAT_ONLY", "limit": 5}),
        200,
    )
    check(
        "delete",
        "/api/v1/live-stream-ban/{ban_id}",
        as_creator.delete(f"/api/v1/live-stream-ban/{ban['id']}"),
        200,
    )
    check(
        "delete",
        "/api/v1/live-stream-ban/{ban_id}",
        as_creator.delete(f"/api/v1/live-stream-ban/{ban['id']}"),
        409,
    )
    check(
        "post",
        "/api/v1/live-stream/leave",
        as_viewer.post("/api/v1/live-stream/leave", by_id, format="json"),
        200,
    )
    check(
        "post",
        "/api/v1/live-stream/{live_stream_id}/end",
        as_creator.post(f"{detail}/end"),
        200,
    )
    past = check(
        "get",
        "/api/v1/live-stream/my-past-streams",
        as_creator.get("/api/v1/live-stream/my-past-streams"),
        200,
    )
    assert [s["id"] for s in past] == [stream["id"]]
    check(
        "get",
        "/api/v1/live-stream/user/{user_id}/past-streams",
        anonymous.get(f"/api/v1/live-stream/user/{creator.pk}/past-streams"),
        200,
    )
    check(
        "get",
        "/api/v1/live-stream/user/{user_id}/past-streams",
        anonymous.get(f"/api/v1/live-stream/user/{new_object_id()}/past-streams"),
        404,
    )
    invited = check(
        "get",
        "/api/v1/live-stream/guest-streams",
        as_guest.get("/api/v1/live-stream/guest-streams", {"sortBy": "endedAt"}),
        200,
    )
    assert [s["role"] for s in invited] == ["guest"]
    check(
        "get",
        "/api/v1/live-stream/guest-streams",
        as_guest.get("/api/v1/live-stream/guest-streams", {"sortBy": "title"}),
        400,
    )
    check(
        "delete",
        "/api/v1/live-stream/{live_stream_id}",
        as_creator.delete(detail),
        200,
    )

    # Funding a scheduled stream, then its cancellation (a refund)
    start = timezone.now() + timedelta(hours=2)
    scheduled = LiveStreamFactory(
        creator=other,
        status=LiveStreamStatus.SCHEDULED,
        planned_start_date=start,
        planned_end_date=start + timedelta(hours=1),
        funding_goal=Decimal("50"),
    )
    check(
        "post",
        "/api/v1/live-stream/{live_stream_id}/fund",
        as_viewer.post(f"/api/v1/live-stream/{scheduled.pk}/fund", {"amount": 12.5}, format="json"),
        201,
    )
    funded = check(
        "get", "/api/v1/live-stream/funded", as_viewer.get("/api/v1/live-stream/funded"), 200
    )
    assert funded[0]["collectedFunding"] == 12.5
    reminder = check(
        "post",
        "/api/v1/live-stream/{live_stream_id}/reminder",
        as_viewer.post(
            f"/api/v1/live-stream/{scheduled.pk}/reminder", {"minute": 15}, format="json"
        ),
        200,
    )
    assert reminder["mode"] == "BEFORE_START"
    for version in (1, 2):
        path = f"/api/v{version}/live-stream/user/{{user_id}}/upcoming-live-streams"
        upcoming = check(
            "get",
            path,
            as_viewer.get(path.replace("{user_id}", other.pk)),
            200,
        )
        assert [(s["id"], s["isReminderActive"]) for s in upcoming] == [(scheduled.pk, True)]
        check("get", path, as_viewer.get(path.replace("{user_id}", new_object_id())), 404)
    check(
        "post",
        "/api/v1/live-stream/{live_stream_id}/cancel",
        client_for(other).post(f"/api/v1/live-stream/{scheduled.pk}/cancel"),
        200,
    )

    # A replay
    recorded = LiveStreamFactory(
        creator=other,
        status=LiveStreamStatus.ENDED,
        started_at=timezone.now() - timedelta(hours=2),
        ended_at=timezone.now() - timedelta(hours=1),
        recording=True,
        recording_url="https://cdn.example.com/recordings/replay.mp4",
        is_active_replay_on_creator_profile=True,
        replay_credit_price=Decimal("9.99"),
    )
    check(
        "patch",
        "/api/v1/live-stream/{live_stream_id}/replay-settings",
        client_for(other).patch(
            f"/api/v1/live-stream/{recorded.pk}/replay-settings",
            {"replayCreditPrice": 7.5},
            format="json",
        ),
        200,
    )
    check(
        "post",
        "/api/v1/live-stream/{live_stream_id}/replay-rentals",
        as_viewer.post(f"/api/v1/live-stream/{recorded.pk}/replay-rentals"),
        200,
    )
    rentals = check(
        "get",
        "/api/v1/live-stream/my-replay-rentals",
        as_viewer.get("/api/v1/live-stream/my-replay-rentals"),
        200,
    )
    assert rentals["list"][0]["recordingUrl"] == recorded.recording_url
    ledger = check(
        "get",
        "/api/v1/users/me/transactions",
        as_viewer.get("/api/v1/users/me/transactions", {"page": 1}),
        200,
    )
    # grant, gift, superlike, contribution, refund, rental
    assert ledger["pagination"]["totalItems"] == 6
    debits = check(
        "get",
        "/api/v1/users/me/transactions",
        as_viewer.get(
            "/api/v1/users/me/transactions",
            {"direction": "debit", "types": "gift_spend,replay_rental", "sort": "asc"},
        ),
        200,
    )
    assert [e["type"] for e in debits["list"]] == ["gift_spend", "replay_rental"]
    check(
        "get",
        "/api/v1/users/me/transactions",
        as_viewer.get("/api/v1/users/me/transactions", {"types": "nope"}),
        400,
    )

    # Agora's webhook, when it is routed
    if "/api/v1/agora/events" in schema["paths"]:
        settings.AGORA_NCS_SECRET = "schema-test-secret"
        notice = json.dumps(
            {
                "noticeId": "schema-notice-1",
                "productId": 1,
                "eventType": 101,
                "notifyMs": 1_700_000_000_000,
                "payload": {"channelName": "no-such-channel", "ts": 1_700_000_000},
            }
        ).encode()
        signature = hmac.new(b"schema-test-secret", notice, hashlib.sha256).hexdigest()
        check(
            "post",
            "/api/v1/agora/events",
            anonymous.post(
                "/api/v1/agora/events",
                notice,
                content_type="application/json",
                HTTP_AGORA_SIGNATURE_V2=signature,
            ),
            200,
        )
        check(
            "post",
            "/api/v1/agora/events",
            anonymous.post("/api/v1/agora/events", notice, content_type="application/json"),
            401,
        )

    # Every documented operation was called and answered as documented.
    assert check.succeeded == {(method, path) for method, path, _op in operations(schema)}


# --- Examples --------------------------------------------------------------------------

# Every operation of API-more §7-§13 (issue 12: each has "the OpenAPI schema with
# examples").
API_MORE_OPERATIONS = {
    # §7
    ("get", "/api/v1/live-stream/featured"),
    ("get", "/api/v1/live-stream/catch-streamers"),
    ("get", "/api/v1/live-stream/most-watched-creators"),
    ("get", "/api/v1/live-stream/guest-streams"),
    ("get", "/api/v1/live-stream/my-past-streams"),
    ("get", "/api/v1/live-stream/user/{user_id}/past-streams"),
    ("get", "/api/v1/live-stream/user/{user_id}/upcoming-live-streams"),
    ("get", "/api/v2/live-stream/user/{user_id}/upcoming-live-streams"),
    ("post", "/api/v1/live-stream/{live_stream_id}/reminder"),
    ("get", "/api/v1/live-stream/{live_stream_id}/viewers"),
    ("get", "/api/v1/live-stream/{live_stream_id}/gift-statistics"),
    # §8
    ("post", "/api/v1/live-stream/{stream_id}/chat/messages"),
    ("get", "/api/v1/live-stream/{stream_id}/chat/messages"),
    ("post", "/api/v1/live-stream/{stream_id}/chat/superlike"),
    # §9
    ("get", "/api/v1/live-stream-ban/check/{target_user_id}"),
    # §10
    ("post", "/api/v1/live-stream-reports/{stream_id}"),
    # §11
    ("get", "/api/v1/participant/stream/{stream_id}/statistics"),
    # §12
    ("get", "/api/v1/gifts/gift-types"),
    ("post", "/api/v1/gifts/create"),
    # §13
    ("get", "/api/v1/users/me/transactions"),
}
# §14: the ban endpoints, aligned with §6.6's Ban object, have theirs too.
ALIGNED_BAN_OPERATIONS = {
    ("get", "/api/v1/live-stream-ban"),
    ("post", "/api/v1/live-stream-ban"),
    ("delete", "/api/v1/live-stream-ban/{ban_id}"),
}


def _media_examples(media: dict) -> dict:
    """A media type's (or a parameter's) examples by name: `example` and `examples`."""
    found = {name: example["value"] for name, example in media.get("examples", {}).items()}
    if "example" in media:
        found["example"] = media["example"]
    return found


def test_every_operation_of_api_more_has_request_and_success_examples(schema):
    documented = {(method, path) for method, path, _op in operations(schema)}
    assert not (API_MORE_OPERATIONS | ALIGNED_BAN_OPERATIONS) - documented
    for method, path in sorted(API_MORE_OPERATIONS | ALIGNED_BAN_OPERATIONS):
        operation = schema["paths"][path][method]
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            assert media.get("examples"), (method, path, media_type)
        (code,) = [code for code in operation["responses"] if code.startswith("2")]
        media = operation["responses"][code]["content"]["application/json"]
        assert media.get("examples"), (method, path, code)
        for name, example in media["examples"].items():
            # The answer as it travels: in the envelope, with its own status.
            value = example["value"]
            assert set(value) == ENVELOPE_KEYS, (method, path, name)
            assert (value["isSuccess"], value["statusCode"]) == (True, int(code))
            assert value["data"] is not None and value["errors"] == []


def _examples_in(node, where: tuple = ()):
    """Every example in the document, as (where, example, the schema it illustrates,
    whether it is a request's): those of media types and parameters (`example`,
    `examples`), and those written on schemas themselves (`example`)."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _examples_in(item, (*where, index))
        return
    if not isinstance(node, dict):
        return
    request = (
        "requestBody" in where
        or "parameters" in where
        or (
            len(where) > 2
            and where[:2] == ("components", "schemas")
            and where[2].endswith("Request")
        )
    )
    if isinstance(node.get("schema"), dict):
        for name, value in _media_examples(node).items():
            yield (*where, name), value, node["schema"], request
    elif "example" in node and ("type" in node or "$ref" in node or "allOf" in node):
        illustrated = {key: value for key, value in node.items() if key != "example"}
        yield where, node["example"], illustrated, request
    for key, value in node.items():
        if key not in ("example", "examples"):
            yield from _examples_in(value, (*where, key))


def test_every_example_in_the_schema_validates_against_what_it_illustrates(schema):
    validators = pytest.importorskip("openapi_schema_validator")
    components = _as_strict_json_schema(schema["components"])
    checked = 0
    for where, example, illustrated, request in _examples_in(schema):
        try:
            validators.validate(
                example,
                {**_as_strict_json_schema(illustrated), "components": components},
                cls=validators.OAS30WriteValidator if request else validators.OAS30ReadValidator,
                format_checker=CONTRACT_FORMATS,
            )
        except ValidationError as error:
            pytest.fail(f"The example at {'/'.join(map(str, where))}: {error.message}")
        checked += 1
    # The success examples of the operations above, the errors' and the fields'.
    assert checked >= 200
