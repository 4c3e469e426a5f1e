"""The paginated shape of list endpoints: `{list, pagination: {currentPage,
totalPages, totalItems, itemsPerPage, hasNextPage, hasPrevPage}}`."""

import re
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


_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def _values(params, name: str) -> list:
    if hasattr(params, "getlist"):
        return list(params.getlist(name))
    return [params[name]] if name in params else []


def _integer(params, name: str, default: int) -> int:
    """`name` from the query: absent is the default; otherwise given once, as a whole
    number in ASCII digits. Empty (`page=`), repeated (`page=1&page=2`), an object
    (`page[a]=1`) or anything else (`1.5`, `+1`, ` 1`, other scripts' digits) is a 400,
    never silently read as something."""
    if any(str(key).startswith((f"{name}[", f"{name}.")) for key in params):
        raise ValidationFailed.field(name, "Must be a whole number, not an object.")
    values = _values(params, name)
    if not values:
        return default
    if len(values) > 1:
        raise ValidationFailed.field(name, "Give it once.")
    raw = values[0]
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise ValidationFailed.field(name, "Must be a whole number.")
    if isinstance(raw, str) and not _WHOLE_NUMBER.fullmatch(raw):
        raise ValidationFailed.field(name, "Must be a whole number.")
    try:
        return int(raw)
    except ValueError:  # more digits than Python reads
        raise ValidationFailed.field(name, "Must be a whole number.") from None


def with_default_limit(params, default: int):
    """`params` with this list's own default `limit` when the query gives none; a
    given `limit` (blank or repeated included) is left for `paginate()` to judge."""
    if "limit" in params:
        return params
    query = params.copy()
    query["limit"] = str(default)
    return query


def page_request(params, default_limit: int = DEFAULT_LIMIT) -> tuple[int, int]:
    """The page number and the limit `page` and `limit` ask for (page < 1 is 1;
    limit `default_limit` when absent, clamped to 1..100); a 400 for anything
    but whole numbers. For a view that checks them before it looks anything up."""
    number = max(1, _integer(params, "page", 1))
    limit = min(MAX_LIMIT, max(1, _integer(params, "limit", default_limit)))
    return number, limit


def paginate(queryset, params) -> Page:
    """One page of `queryset` as asked by `page` and `limit` (page < 1 is 1; limit
    is 10 by default and at most 100)."""
    return paginate_at(queryset, *page_request(params))


def paginate_at(queryset, number: int, limit: int) -> Page:
    """Page `number` of `queryset`, `limit` items a page (a count and a slice)."""
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
        required=False,
        default=1,
        help_text="The page number (below 1 counts as 1), given once; empty is a 400.",
    )
    limit = serializers.IntegerField(
        required=False,
        default=DEFAULT_LIMIT,
        help_text=(
            f"Items per page, {DEFAULT_LIMIT} by default, at most {MAX_LIMIT} (below 1 counts "
            "as 1), given once; empty is a 400."
        ),
    )
