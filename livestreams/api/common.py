"""What every live-stream view shares: parsing a body or a query with an input
serializer, checking an id in the path, and rendering a page of streams."""

from django.utils import timezone
from rest_framework.response import Response

from allmine.core.errors import ValidationFailed
from allmine.core.ids import is_object_id
from allmine.core.pagination import paginate
from livestreams.api.serializers import LiveStreamPageSerializer
from livestreams.selectors.viewing import prepare_for_viewer


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


def stream_page(request, queryset) -> Response:
    """One page of `queryset`, as the caller sees each stream."""
    page = paginate(queryset, request.query_params)
    prepare_for_viewer(page.items, request.user, timezone.now())
    return Response(LiveStreamPageSerializer(page).data)
