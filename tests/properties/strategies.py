"""Values at and beyond the edges of the API's fields, for the property tests."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st

# --- Dates ------------------------------------------------------------------------------


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def planned_dates(now: datetime, schedule_days: int):
    """RFC 3339 datetimes around every edge of the planning window (2000-01-01Z and
    `schedule_days` from now), far outside it, with odd offsets, and text that is
    not an RFC 3339 datetime at all."""
    latest = now + timedelta(days=schedule_days)
    edges = [
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2000, 1, 1, tzinfo=UTC) - timedelta(microseconds=1),
        latest - timedelta(minutes=1),
        latest + timedelta(minutes=1),
        now,
        now + timedelta(hours=1),
    ]
    offsets = st.sampled_from([0, 14 * 60, -14 * 60, 23 * 60 + 59, -(23 * 60 + 59), 330, -570])
    shifted = st.builds(
        lambda moment, minutes, micro: moment.replace(microsecond=micro).astimezone(
            timezone(timedelta(minutes=minutes))
        ),
        st.sampled_from(edges)
        | st.datetimes(
            min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
        ),
        offsets,
        st.integers(0, 999_999),
    ).map(lambda m: m.isoformat())
    extreme = st.sampled_from(
        [
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59.999999Z",
            "0001-01-01T00:00:00Z",
            "1999-12-31T23:59:59Z",
            "2100-01-01T00:00:00Z",
        ]
    )
    malformed = st.sampled_from(
        [
            "2026-06-01T10:00:00",
            "2026-06-01",
            "2026-W23-1T10:00:00Z",
            "20260601T100000Z",
            "2026-06-01T24:00:00Z",
            "2026-02-30T10:00:00Z",
            "2026-06-01T10:00:00+24:00",
            "２０２６-06-01T10:00:00Z",
            "",
            " ",
        ]
    ) | st.text(max_size=30)
    return st.one_of(shifted, extreme, malformed, st.integers(), st.none())


# --- Money ------------------------------------------------------------------------------


def json_money(maximum: Decimal):
    """JSON values for a money field: numbers at and beyond 0, the cent, the maximum
    and 12 digits, with too many decimals, huge and tiny; strings (refused in JSON);
    other JSON types."""
    cents = Decimal("0.01")
    edges = [
        Decimal(0),
        cents,
        -cents,
        maximum,
        maximum + cents,
        maximum - cents,
        Decimal("9999999999.99"),
        Decimal("10000000000"),
        Decimal("0.001"),
        Decimal("1.005"),
    ]
    numbers = st.one_of(
        st.sampled_from(edges).map(float),
        st.sampled_from([0, 1, -1, int(maximum), int(maximum) + 1, 10**12, 10**40]),
        st.decimals(min_value=-2 * maximum, max_value=2 * maximum, places=2).map(float),
        st.floats(allow_nan=False, allow_infinity=False),
    )
    strings = st.sampled_from(["1e2", "12", "", "7,50", "\u0661\u0662", "\uff15", "NaN"])
    return st.one_of(numbers, strings, st.booleans(), st.none(), st.just([5]), st.just({"a": 1}))


def form_money(maximum: Decimal):
    """Text for a money field in a multipart form."""
    plain = st.decimals(min_value=0, max_value=2 * maximum, places=2).map(str)
    return st.one_of(
        plain,
        st.sampled_from(
            [
                "0",
                "0.00",
                "0.01",
                str(maximum),
                str(maximum + Decimal("0.01")),
                "1.005",
                "-1",
                "1e2",
                "7,50",
                " 5",
                "5 ",
                "+5",
                ".5",
                "5.",
                "\u0661\u0662",
                "\uff15",
                "",
                "null",
                "9999999999.99",
                "10000000000",
            ]
        ),
        st.text(alphabet="0123456789.,-+e ", max_size=14),
    )


# --- Text -------------------------------------------------------------------------------

SPECIAL_TEXT = [
    "",
    " ",
    "\t\n\r",
    "a\x00b",
    "a\x1bb",
    "a\x7fb",
    "a\x9bb",
    "harmless\u202etxt.exe",
    "zero\u200bwidth\u200d\ufeff",
    "🎉🚀👩‍👩‍👧",
    "مرحبا שלום",
    "Yeni ürün tanıtımı İĞŞÇÖ",
    "'; DROP TABLE x; --",
    "{{7*7}}",
]


def text(max_length: int):
    """Text at and around `max_length` (with white space that trimming removes),
    with control characters, right-to-left and zero-width marks, emoji, astral
    characters, and anything else."""
    around = st.integers(max(0, max_length - 2), max_length + 2)
    sized = around.flatmap(lambda n: st.sampled_from(["x", "ş", "𝕏", " "]).map(lambda ch: ch * n))
    padded = around.map(lambda n: "  " + "y" * n + "  ")
    return st.one_of(
        st.sampled_from(SPECIAL_TEXT),
        sized,
        padded,
        st.text(max_size=max_length + 5),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40),
    )


def mostly(valid, edgy, *, share: int = 4):
    """`valid` values `share` times in `share + 1`, else `edgy` ones: so that both
    acceptances and refusals are drawn often."""
    return st.integers(0, share).flatmap(lambda n: edgy if n == 0 else valid)


def names():
    """A person's name as typed: letters of any script, spaces, marks, emoji."""
    return st.text(
        alphabet=st.characters(categories=["L", "M", "Zs", "Nd", "Pd", "So"]),
        min_size=1,
        max_size=100,
    ).filter(lambda value: value.strip())
