"""The paginated shape of list endpoints: `{list, pagination: {currentPage,
totalPages, totalItems, itemsPerPage, hasNextPage, hasPrevPage}}`."""

from dataclasses import dataclass

from allmine.exceptions import ValidationFailed

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    limit: int
    total: int

    def as_data(self, rendered_items: list) -> dict:
        total_pages = (self.total + self.limit - 1) // self.limit
        return {
            "list": rendered_items,
            "pagination": {
                "currentPage": self.number,
                "totalPages": total_pages,
                "totalItems": self.total,
                "itemsPerPage": self.limit,
                "hasNextPage": self.number < total_pages,
                "hasPrevPage": self.number > 1,
            },
        }


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
