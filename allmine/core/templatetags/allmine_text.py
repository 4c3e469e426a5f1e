"""A template builtin (settings.TEMPLATES OPTIONS "builtins"): `capfirst` that
knows Turkish. Python's str.upper() makes the dotted small i an "I"; in Turkish
(and Azerbaijani) its capital is the dotted "İ" (the dotless one's is "I").
Every admin template's `|capfirst` goes through here, so a Turkish label
starting with a small i starts with "İ", and CSS uppercase with lang="tr" then
gives "İŞLEM SONRASI BAKİYE", not "IŞLEM SONRASI BAKİYE"."""

from django import template
from django.template.defaultfilters import stringfilter
from django.utils.translation import get_language

register = template.Library()

DOTTED_LANGUAGES = ("tr", "az")


def upper_first(text: str, language: str | None = None) -> str:
    if not text:
        return text
    language = (language or get_language() or "").split("-")[0]
    first = text[0]
    if language in DOTTED_LANGUAGES and first == "i":
        return "İ" + text[1:]
    return first.upper() + text[1:]


@register.filter(is_safe=True)
@stringfilter
def capfirst(value: str) -> str:
    """Django's `capfirst`, with the dotted capital I in Turkish."""
    return upper_first(value)
