import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import get_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ReasonForm(forms.Form):
    """The reason every moderator action asks for, kept in the audit trail."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in the audit trail with your name and the time."),
    )


# --- Money in the back office ---------------------------------------------------------

# An amount as a person types it: digits, at most one separator, more digits.
_TYPED_AMOUNT = re.compile(r"(?P<sign>-?)(?P<whole>[0-9]+)(?:(?P<sep>[.,])(?P<fraction>[0-9]+))?")


def parse_typed_amount(text: str) -> Decimal:
    """An amount typed in the active language: the language's decimal separator
    (a comma in Turkish, a dot in English) or a dot. Never a thousands separator:
    what could be read two ways ("1.500" in Turkish, "7,50" in English) is refused
    rather than guessed, and no character is ever dropped."""
    decimal_separator = get_format("DECIMAL_SEPARATOR")
    thousand_separator = get_format("THOUSAND_SEPARATOR")
    example = f"7{decimal_separator}50"
    match = _TYPED_AMOUNT.fullmatch(text.strip())
    if match is None:
        raise ValidationError(
            gettext("Enter an amount such as %(example)s.") % {"example": example},
            code="invalid",
        )
    separator = match["sep"]
    if separator and separator not in {decimal_separator, "."}:
        raise ValidationError(
            gettext("Use %(separator)s for decimals, such as %(example)s.")
            % {"separator": decimal_separator, "example": example},
            code="separator",
        )
    if separator and separator == thousand_separator and len(match["fraction"]) == 3:
        raise ValidationError(
            gettext(
                "%(text)s could be read two ways: write %(whole)s without a separator, "
                "or use %(separator)s for decimals."
            )
            % {
                "text": text.strip(),
                "whole": match["whole"] + match["fraction"],
                "separator": decimal_separator,
            },
            code="ambiguous",
        )
    digits = match["whole"] + (f".{match['fraction']}" if separator else "")
    try:
        return Decimal(f"{match['sign']}{digits}")
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise ValidationError(gettext("Enter a number."), code="invalid") from None


class MoneyInput(forms.TextInput):
    """A text box, not `<input type="number">`: a browser's number box reads what is
    typed by the browser's locale, not the page's, and may drop a comma it takes for
    a thousands separator before the server ever sees it (`7,50` sent as `750`)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            {"inputmode": "decimal", "autocomplete": "off", "size": 10, **(attrs or {})}
        )


class LocalizedMoneyField(forms.DecimalField):
    """Money typed in the back office, read in the active language
    (`parse_typed_amount`) and shown in it (`7,50` in Turkish)."""

    widget = MoneyInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs["localize"] = True
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]  # the stubs give DecimalField IntegerField's int
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        return parse_typed_amount(str(value))
