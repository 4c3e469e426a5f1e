"""The OpenAPI schema (drf-spectacular): every response described inside the envelope.

Views declare what they take and what they return (`@extend_schema` with the
success serializer and the error statuses only they can produce). Everything the
contract says of every endpoint is added here, once:

- each success payload is wrapped in the envelope `{isSuccess, statusCode, data,
  errors, timestamp}` (§1);
- each operation lists the error statuses it can answer with, in the envelope,
  with the fixed first `errors` entry of `allmine.core.errors` as the example;
- the Bearer scheme (our `BearerAuthentication`): required, optional (`{}` beside
  it: views that allow anyone but check a token that is sent), or none at all on
  endpoints that take no token;
- ids as 24-hex strings, enums for the fixed vocabularies of §2;
- every mutating operation carries the Production warning of the playground.
"""

import re
from http import HTTPStatus

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import (
    ResolvedComponent,
    build_bearer_security_scheme_object,
    is_list_serializer,
)
from drf_spectacular.utils import (
    OpenApiResponse,
)

from allmine.core.errors import ERROR_TEXTS
from allmine.core.fields import OBJECT_ID_SCHEMA, TIMESTAMP_EXAMPLE

SECURITY_SCHEME_NAME = "JWT-auth"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

PRODUCTION_WARNING_EN = (
    "This endpoint changes data or can trigger an operation. With the Production "
    "server selected in the API playground, real production data is affected; use "
    "the Development server for testing."
)
# As on the seed pages (docs/spec seeds), word for word.
PRODUCTION_WARNING_TR = (
    "Bu endpoint veri degistirir veya operasyon tetikleyebilir. API Playground icinde "
    "Production server seciliyse gercek production verisi etkilenir; test icin "
    "Development server kullanin."
)

# The first path segment after /api/v1/ names the group an operation is listed under.
TAGS = {
    "auth": "Auth",
    "users": "Users",
    "live-stream": "Live Streams",
    "live-stream-ban": "Live Stream Bans",
    "live-stream-reports": "Live Stream Reports",
    "participant": "Participants",
    "gifts": "Gifts",
    "health": "Health",
    "agora": "Agora",
}

# Why each status can happen, when a view does not say more.
DEFAULT_ERROR_DESCRIPTIONS = {
    400: "A field, a query parameter, an id or the request itself is malformed; "
    "the entries after the first say what exactly.",
    401: "No access token, or an expired, tampered or revoked one, or an inactive account.",
    403: "The caller may not do this.",
    404: "No object with this id exists, or the caller may not see it.",
    409: "The object cannot be changed in its current state.",
    413: "The request body is larger than the server accepts.",
    415: "The body is not in one of the media types this operation accepts.",
    429: "Too many requests from this caller; retry after `Retry-After` seconds.",
    500: "An unexpected error; nothing was changed.",
    503: "The database is unavailable; nothing was changed. Retry shortly.",
}
# Any request under /api/ can meet these (a bad Content-Length or an oversized body
# is refused before the view, and every view reaches the database).
ALWAYS_POSSIBLE = (400, 413, 500, 503)


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <JWT>` for our subclass of simplejwt's authenticator."""

    target_class = "accounts.authentication.BearerAuthentication"
    match_subclasses = True
    name = SECURITY_SCHEME_NAME

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(
            header_name="HTTP_AUTHORIZATION", token_prefix="Bearer", bearer_format="JWT"
        )
        scheme["description"] = (
            "The access token from /auth/login, /auth/register or /auth/refresh, sent as "
            "`Authorization: Bearer <token>`. Paste the token without the Bearer prefix."
        )
        return scheme


# --- The schema class -------------------------------------------------------------------


class EnvelopeAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with the contract's conventions applied."""

    # Operations

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None or self.method not in MUTATING_METHODS:
            return operation
        warning = (
            f"**Production warning:** {PRODUCTION_WARNING_EN}\n\n"
            f"**Production uyarisi:** {PRODUCTION_WARNING_TR}"
        )
        description = operation.get("description")
        operation["description"] = f"{warning}\n\n{description}" if description else warning
        operation["x-production-warning"] = {
            "en": PRODUCTION_WARNING_EN,
            "tr": PRODUCTION_WARNING_TR,
        }
        return operation

    def get_operation_id(self) -> str:
        """`joinAsCreator` from JoinAsCreatorView; views with several methods say
        theirs with `@extend_schema(operation_id=...)`, or get the method appended."""
        name = re.sub(r"View$", "", type(self.view).__name__)
        name = name[:1].lower() + name[1:]
        handlers = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(self.view, m)]
        if len(handlers) > 1:
            name += self.method.capitalize()
        return name

    def get_tags(self) -> list[str]:
        tokens = self._tokenize_path()
        first = tokens[0] if tokens else ""
        return [TAGS.get(first, first.replace("-", " ").title())]

    def get_auth(self):
        if not self.view.get_authenticators():
            return []  # no security requirement at all
        # With AllowAny the token is optional (drf-spectacular adds `{}`): one that
        # is sent must still be valid.
        return super().get_auth()

    def _requires_auth(self) -> bool:
        """Whether a token can be refused (401): required, or optional but checked
        when sent."""
        return bool(self.view.get_authenticators())

    # Requests

    def map_parsers(self):
        """The contract's bodies are JSON unless a view says otherwise (multipart
        endpoints declare their media types, or accept nothing but multipart)."""
        media_types = super().map_parsers()
        return ["application/json"] if "application/json" in media_types else media_types

    def _get_request_for_media_type(self, serializer, direction="request"):
        # drf-spectacular describes a PATCH body as a partial serializer (nothing
        # required). Our PATCH views validate with the whole serializer, so a field
        # that is required stays required (the profile photo's `file`).
        method = self.method
        if method == "PATCH":
            self.method = "PUT"
        try:
            return super()._get_request_for_media_type(serializer, direction)
        finally:
            self.method = method

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter.get("in") == "path" and parameter["name"].endswith("_id"):
                parameter["schema"] = dict(OBJECT_ID_SCHEMA)
                parameter.setdefault("description", "A 24-character hexadecimal id.")
        return parameters

    # Fields

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if schema is not None and (getattr(field, "field_name", None) or "").startswith("_"):
            schema.pop("title", None)  # "_id" would be titled " id"
        if schema is not None and hasattr(field, "openapi_facts"):
            # Kept on the field for _insert_field_validators, which runs next and is
            # not told the direction.
            field._openapi_facts_now = field.openapi_facts(direction)
            _apply_facts(schema, field._openapi_facts_now)
        return schema

    def _map_basic_serializer(self, serializer, direction):
        """A serializer's own object-level facts (`openapi_object_facts`: which of its
        fields are needed together) join its schema."""
        schema = super()._map_basic_serializer(serializer, direction)
        facts = getattr(serializer, "openapi_object_facts", None)
        if facts and direction == "request":
            schema.update(facts)
        return schema

    def _insert_field_validators(self, field, schema):
        """drf-spectacular's facts from the field's validators, then the field's own
        (`openapi_facts` in allmine.core.fields: what the field itself enforces)."""
        super()._insert_field_validators(field, schema)
        facts = getattr(field, "_openapi_facts_now", None)
        if facts:
            _apply_facts(schema, facts)

    # Responses

    def _get_response_bodies(self, direction="response"):
        declared = self.get_response_serializers()
        if not isinstance(declared, dict):
            status = 201 if self.method == "POST" and self._is_create_operation() else 200
            declared = {status: declared}

        responses = {}
        errors = {}
        for code, serializer in declared.items():
            code = int(code)
            if code >= 400:
                errors[code] = serializer
            else:
                responses[str(code)] = self._get_response_for_code(
                    serializer, str(code), direction=direction
                )
        for code in sorted(self._error_statuses(errors)):
            responses[str(code)] = self._error_response(code, errors.get(code))
        return responses

    def _error_statuses(self, declared: dict) -> set[int]:
        statuses = set(ALWAYS_POSSIBLE) | set(declared)
        if self._requires_auth():
            statuses.add(401)
        if "{" in self.path:
            statuses.add(404)
        if self.method in ("POST", "PUT", "PATCH") and self._get_request_body():
            statuses.add(415)
        if self.view.get_throttles():
            statuses.add(429)
        return statuses

    def _get_examples(self, serializer, direction, media_type, status_code=None, extras=None):
        """A view's examples are whole bodies as they travel (a success answer in its
        envelope: `allmine.core.examples`), so drf-spectacular must not wrap one of
        a list's (`many=True`) in a list of its own: it is given the list's item
        serializer, and our views are no list views to its eyes (plain APIViews)."""
        if is_list_serializer(serializer):
            serializer = serializer.child
        return super()._get_examples(serializer, direction, media_type, status_code, extras)

    def _get_response_for_code(
        self, serializer, status_code, media_types=None, direction="response"
    ):
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        for media in response.get("content", {}).values():
            media["schema"] = self._success_envelope(media["schema"], int(status_code))
        if not response.get("description"):
            response["description"] = HTTPStatus(int(status_code)).phrase
        return response

    def _success_envelope(self, data_schema: dict, status_code: int) -> dict:
        return {
            "type": "object",
            "properties": {
                "isSuccess": {"type": "boolean", "enum": [True]},
                "statusCode": {"type": "integer", "enum": [status_code]},
                "data": data_schema,
                "errors": {"type": "array", "items": {"type": "string"}, "maxItems": 0},
                "timestamp": {
                    "type": "string",
                    "format": "date-time",
                    "example": TIMESTAMP_EXAMPLE,
                },
            },
            "required": ["isSuccess", "statusCode", "data", "errors", "timestamp"],
        }

    def _error_envelope_ref(self) -> dict:
        component = ResolvedComponent(
            name="ErrorEnvelope",
            type=ResolvedComponent.SCHEMA,
            object="ErrorEnvelope",
            schema={
                "type": "object",
                "description": (
                    "Every error: `data` is null; the first entry of `errors` is the fixed "
                    "text for the status, further entries say exactly what was wrong "
                    '(for a field: "<field>: <message>").'
                ),
                "properties": {
                    "isSuccess": {"type": "boolean", "enum": [False]},
                    "statusCode": {"type": "integer", "minimum": 400, "maximum": 599},
                    "data": {"type": "object", "nullable": True, "enum": [None]},
                    "errors": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "timestamp": {
                        "type": "string",
                        "format": "date-time",
                        "example": TIMESTAMP_EXAMPLE,
                    },
                },
                "required": ["isSuccess", "statusCode", "data", "errors", "timestamp"],
            },
        )
        self.registry.register_on_missing(component)
        return component.ref

    def _error_response(self, status_code: int, declared) -> dict:
        text = ERROR_TEXTS[status_code]
        detail = declared.description if isinstance(declared, OpenApiResponse) else None
        detail = detail or DEFAULT_ERROR_DESCRIPTIONS[status_code]
        response = {
            "description": f"{text}. {detail}",
            "content": {
                "application/json": {
                    "schema": self._error_envelope_ref(),
                    "example": {
                        "isSuccess": False,
                        "statusCode": status_code,
                        "data": None,
                        "errors": [text],
                        "timestamp": TIMESTAMP_EXAMPLE,
                    },
                }
            },
        }
        if status_code == 429:
            response["headers"] = {
                "Retry-After": {
                    "schema": {"type": "integer", "minimum": 0},
                    "description": "Seconds to wait before the next request.",
                }
            }
        return response


# Keys drf-spectacular derives from a DecimalField's digits, replaced by MoneyField's
# own bounds.
_DERIVED_NUMBER_KEYS = ("format", "exclusiveMaximum", "exclusiveMinimum", "maximum", "minimum")


def _apply_facts(schema: dict, facts: dict) -> None:
    """Merge a field's `openapi_facts` into its schema (a description is appended
    to the help text rather than replacing it; a None removes the key)."""
    if not facts:
        return
    if facts.get("type") == "number":
        for key in _DERIVED_NUMBER_KEYS:
            schema.pop(key, None)
    for key, value in facts.items():
        if value is None:
            schema.pop(key, None)
        elif key == "description" and schema.get("description"):
            if value not in schema["description"]:
                schema["description"] = f"{schema['description']} {value}"
        else:
            schema[key] = value


def _strip_internal_keys(node):
    if isinstance(node, dict):
        node.pop("x-spec-enum-id", None)  # drf-spectacular's own bookkeeping
        for value in node.values():
            _strip_internal_keys(value)
    elif isinstance(node, list):
        for value in node:
            _strip_internal_keys(value)


def _form_empty_means_null(result) -> None:
    """In a multipart form every value is text, and an empty one for a field that
    may be null means null (allmine.core.fields.FormNullMixin): say so in the form
    bodies' schemas (their components are the forms' own, drf-spectacular's
    COMPONENT_SPLIT_REQUEST)."""
    schemas = result.get("components", {}).get("schemas", {})
    forms = set()
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            ref = content.get("multipart/form-data", {}).get("schema", {}).get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                forms.add(ref.rsplit("/", 1)[1])
    for name in forms:
        properties = schemas.get(name, {}).get("properties", {})
        for key, prop in list(properties.items()):
            if (
                prop.get("nullable")
                and prop.get("type") != "boolean"  # DRF reads "" (and "null") as null
                and prop.get("format") != "binary"  # a file part: absent when there is none
                and "anyOf" not in prop
            ):
                inner = {k: v for k, v in prop.items() if k not in ("nullable", "description")}
                properties[key] = {
                    "anyOf": [inner, {"type": "string", "maxLength": 0}],
                    "nullable": True,
                    **({"description": prop["description"]} if "description" in prop else {}),
                }


def _bodies_that_need_a_field_are_required(result) -> None:
    """drf-spectacular leaves a PATCH body optional (a partial update may send
    nothing), but a body whose schema requires a field, or one of several
    (`anyOf`), cannot be left out: an absent body is a 400, so say it is required."""
    schemas = result.get("components", {}).get("schemas", {})
    for item in result.get("paths", {}).values():
        for operation in item.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body or body.get("required"):
                continue
            for media in body.get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                component = schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
                if component.get("required") or component.get("anyOf"):
                    body["required"] = True


def postprocess_schema(result, generator, request, public):
    """Say in the document itself what every operation shares."""
    _strip_internal_keys(result)
    _form_empty_means_null(result)
    _bodies_that_need_a_field_are_required(result)
    result.setdefault("info", {})["description"] = (
        f"{result['info'].get('description', '')}\n\n"
        "Pick a server above: **Development** for trying things out. Operations that "
        "change data are marked with a Production warning: with the **Production** "
        "server selected, they change real data."
    ).strip()
    return result
