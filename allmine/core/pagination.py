"""The paginated shape of list endpoints: `{list, pagination: {currentPage,
totalPages, totalItems, itemsPerPage, hasNextPage, hasPrevPage}}`."""

from dataclasses import dataclass

from rest_framework import serializers

from allmine.core.errors import ValidationFailed

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    limit: int
    total: int

    @property
    def total_pages(self) -> int:
        return (self.total + self.limit - 1) // self.limit

    @property
    def has_next(self) -> bool:
        return self.number < self.total_pages

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def _integer(params, name: str, default: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed.field(name, "Must be a whole number.") from None


def paginate(queryset, params) -> Page:
    """One page of `queryset` as asked by `page` and `limit` (page < 1 is 1; limit
    is 10 by default and at most 100)."""
    number = max(1, _integer(params, "page", 1))
    limit = min(MAX_LIMIT, max(1, _integer(params, "limit", DEFAULT_LIMIT)))
    total = queryset.count()
    offset = (number - 1) * limit
    items = list(queryset[offset : offset + limit]) if offset < total else []
    return Page(items=items, number=number, limit=limit, total=total)


class PaginationSerializer(serializers.Serializer):
    currentPage = serializers.IntegerField(source="number", min_value=1)
    totalPages = serializers.IntegerField(source="total_pages", min_value=0)
    totalItems = serializers.IntegerField(source="total", min_value=0)
    itemsPerPage = serializers.IntegerField(source="limit", min_value=1, max_value=MAX_LIMIT)
    hasNextPage = serializers.BooleanField(source="has_next")
    hasPrevPage = serializers.BooleanField(source="has_prev")


def page_serializer(item_serializer: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The serializer of a `Page` of `item_serializer` objects, `{list, pagination}`;
    named after the items (`LiveStreamSerializer` gives `LiveStreamPageSerializer`)."""
    name = item_serializer.__name__.removesuffix("Serializer") + "PageSerializer"
    return type(
        name,
        (serializers.Serializer,),
        {
            "list": item_serializer(many=True, source="items"),
            "pagination": PaginationSerializer(source="*"),
            "__module__": item_serializer.__module__,
        },
    )


class PageQuerySerializer(serializers.Serializer):
    """`page` and `limit`, as `paginate` reads them (for the schema)."""

    page = serializers.IntegerField(
        required=False, default=1, help_text="The page number (below 1 counts as 1)."
    )
    limit = serializers.IntegerField(
        required=False,
        default=DEFAULT_LIMIT,
        help_text=f"Items per page, {DEFAULT_LIMIT} by default, at most {MAX_LIMIT}.",
    )
