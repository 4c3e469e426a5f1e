"""What every live-stream view shares: parsing a body or a query with an input
serializer, checking an id in the path, and rendering a page of streams (in the
page shape, or as an array with its paging in headers)."""

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from allmine.core.errors import ValidationFailed
from allmine.core.ids import is_object_id
from allmine.core.pagination import MAX_LIMIT, paginate, with_default_limit
from allmine.core.representation import represent
from livestreams.api.serializers import (
    LiveStreamPageSerializer,
    LiveStreamSerializer,
    ReplayAccessSerializer,
)
from livestreams.selectors.snapshots import CallerView, StreamSnapshot, snapshot_rendered
from livestreams.selectors.viewing import prepare_for_viewer

# The lists answered as arrays (API-more §14) and the viewers' page take 20 by default.
ARRAY_PAGE_LIMIT = 20


def valid(serializer_class, data) -> dict:
    """The validated data of `data` (a body or a query), or a 400."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def valid_query(serializer_class, params) -> dict:
    """The validated data of a query string: each of the serializer's parameters is
    given at most once (`status=a&status=b` is a 400, never half read)."""
    for name in serializer_class().fields:
        if len(params.getlist(name)) > 1:
            raise ValidationFailed.field(name, "Give it once.")
    return valid(serializer_class, params)


def path_id(value: str, name: str = "id") -> str:
    """An id from the URL path, or a 400 (a malformed id is never looked up)."""
    if not is_object_id(value):
        raise ValidationFailed.field(name, "Must be a 24-character hexadecimal id.")
    return value


def render_snapshot(snapshot: StreamSnapshot, view: CallerView) -> dict:
    """The LiveStream object of a cached snapshot as one caller sees it: the
    audience-independent rendering (made once and cached with the snapshot), with
    the caller's `replayAccess`, `recordingUrl` and `role` put in their places."""
    if snapshot.data is None:
        snapshot_rendered(snapshot, dict(LiveStreamSerializer(snapshot.stream).data))
    assert snapshot.data is not None
    data = dict(snapshot.data)
    data["replayAccess"] = represent(ReplayAccessSerializer, view.replay)
    data["recordingUrl"] = snapshot.stream.recording_url if view.replay.can_view_recording else None
    data["role"] = view.role.value if view.role is not None else None
    return data


@extend_schema_field(LiveStreamSerializer)
class SnapshotStreamField(serializers.Field):
    """The stream of a result holding a cached snapshot and its caller's view
    (`snapshot`, `caller`), rendered by `render_snapshot`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Any) -> dict:
        return render_snapshot(value.snapshot, value.caller)


def stream_page(request, queryset) -> Response:
    """One page of `queryset`, as the caller sees each stream."""
    page = paginate(queryset, request.query_params)
    prepare_for_viewer(page.items, request.user, timezone.now())
    return Response(LiveStreamPageSerializer(page).data)


def stream_array(request, queryset) -> Response:
    """One page of `queryset` as a plain array (API-more §14): `page` (default 1)
    and `limit` (default 20, at most 100) select it; `X-Total-Count` and a `Link`
    header with `next` and `prev` carry the totals."""
    page = paginate(queryset, with_default_limit(request.query_params, ARRAY_PAGE_LIMIT))
    prepare_for_viewer(page.items, request.user, timezone.now())
    links = []
    for rel, number, present in (
        ("next", page.number + 1, page.has_next),
        ("prev", page.number - 1, page.has_prev),
    ):
        if present:
            query = request.query_params.copy()
            query["page"] = str(number)
            query["limit"] = str(page.limit)
            url = f"{settings.PUBLIC_BASE_URL}{request.path}?{query.urlencode()}"
            links.append(f'<{url}>; rel="{rel}"')
    headers = {"X-Total-Count": str(page.total)}
    if links:
        headers["Link"] = ", ".join(links)
    return Response(LiveStreamSerializer(page.items, many=True).data, headers=headers)


class ArrayPageQuerySerializer(serializers.Serializer):
    """`page` and `limit` of the lists answered as arrays (for the schema)."""

    page = serializers.IntegerField(
        required=False, default=1, help_text="The page number (below 1 counts as 1)."
    )
    limit = serializers.IntegerField(
        required=False,
        default=ARRAY_PAGE_LIMIT,
        help_text=f"Items per page, {ARRAY_PAGE_LIMIT} by default, at most {MAX_LIMIT}.",
    )


# The headers of a `stream_array` answer, for the schema.
ARRAY_HEADERS = [
    OpenApiParameter(
        "X-Total-Count",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        response=[200],
        description="How many streams match (the same on every page).",
    ),
    OpenApiParameter(
        "Link",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[200],
        description="The next and the previous page, when there is one: "
        '`<url>; rel="next", <url>; rel="prev"`.',
    ),
]
