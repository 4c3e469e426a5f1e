"""Uploaded SVG images (gift images), checked strictly before they are stored.

An SVG is a document, not a picture: served from our own origin, one carrying a
script runs with the API's cookies and origin. So an upload is parsed and walked,
and refused unless every element is a drawing element of the SVG namespace and
nothing in it can run code or fetch anything:

- no DOCTYPE or ENTITY declaration (entity expansion, external entities) and no
  processing instruction other than the XML declaration, refused before parsing;
- parsed with the standard library's expat parser, which then meets no DTD at all
  (defusedxml would guard the same things; it is not among our dependencies, and
  refusing every declaration up front leaves nothing for it to do);
- elements: an allow-list of drawing, text, paint-server, clipping, masking,
  filter and animation elements (no `script`, `foreignObject`, `iframe`,
  `image`, `a`, `handler`, nor anything outside the SVG namespace);
- attributes: no event handler (`on*`); `href`/`xlink:href` only to a fragment of
  the same document (`#id`); no `javascript:`, `data:` or external URL anywhere,
  in attributes, `style` or `<style>` (`url(#id)` only; no `@import`);
- animations may not change an `href` or an event handler;
- at most `GIFT_SVG_MAX_BYTES` bytes, UTF-8.

The bytes stored are the ones checked (never re-serialised)."""

import re
import xml.etree.ElementTree as ET

from django.conf import settings

from allmine.core.errors import ValidationFailed

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
XLINK_NAMESPACE = "http://www.w3.org/1999/xlink"

ALLOWED_ELEMENTS = frozenset(
    {
        "svg", "g", "defs", "symbol", "use", "title", "desc", "metadata", "switch",
        "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
        "text", "tspan", "textPath",
        "linearGradient", "radialGradient", "stop", "pattern",
        "clipPath", "mask", "marker", "style",
        "filter", "feBlend", "feColorMatrix", "feComponentTransfer", "feComposite",
        "feConvolveMatrix", "feDiffuseLighting", "feDisplacementMap", "feDistantLight",
        "feDropShadow", "feFlood", "feFuncA", "feFuncB", "feFuncG", "feFuncR",
        "feGaussianBlur", "feMerge", "feMergeNode", "feMorphology", "feOffset",
        "fePointLight", "feSpecularLighting", "feSpotLight", "feTile", "feTurbulence",
        "animate", "animateMotion", "animateTransform", "set", "mpath",
    }
)  # fmt: skip
ANIMATIONS = frozenset({"animate", "animateMotion", "animateTransform", "set"})
HREF_ATTRIBUTES = frozenset({"href", f"{{{XLINK_NAMESPACE}}}href"})

# Anything that names a scheme or reaches outside the document, once whitespace
# and control characters (which browsers skip inside a scheme) are removed.
_DANGEROUS_TEXT = re.compile(r"javascript:|vbscript:|data:|@import|expression\(|behavior:")
_URL_REFERENCE = re.compile(r"url\(\s*(['\"]?)\s*([^)'\"]*)\1\s*\)", re.IGNORECASE)
_SQUEEZE = re.compile(r"[\s\x00-\x1f\x7f]+")


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed.field("svg", message)


def _squeezed(value: str) -> str:
    return _SQUEEZE.sub("", value).lower()


def _check_text(value: str, where: str) -> None:
    """Attribute values, `style` and `<style>`: no scheme, no import, and every
    `url(...)` a fragment of the document."""
    if _DANGEROUS_TEXT.search(_squeezed(value)):
        raise _refuse(f"{where} may not contain a script, a data: URL or an import.")
    for match in _URL_REFERENCE.finditer(value):
        if not match.group(2).strip().startswith("#"):
            raise _refuse(f"{where} may only refer to the document itself (url(#id)).")


def _local(name: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag or attribute name."""
    if name.startswith("{"):
        namespace, _close, local = name[1:].partition("}")
        return namespace, local
    return "", name


def _check_element(element: ET.Element) -> None:
    namespace, tag = _local(element.tag)
    if namespace != SVG_NAMESPACE or tag not in ALLOWED_ELEMENTS:
        raise _refuse(f"The element <{tag}> is not allowed; export a plain SVG drawing.")
    for name, value in element.attrib.items():
        _namespace, attr = _local(name)
        if attr.lower().startswith("on"):
            raise _refuse(f"The event attribute {attr} is not allowed.")
        is_link = name in HREF_ATTRIBUTES or attr.lower() == "href"
        if is_link and not value.strip().startswith("#"):
            raise _refuse("A link may only point inside the document (#id).")
        if (
            tag in ANIMATIONS
            and attr == "attributeName"
            and (_squeezed(value).endswith("href") or _squeezed(value).startswith("on"))
        ):
            raise _refuse("An animation may not change a link or an event attribute.")
        _check_text(value, f"The attribute {attr}")
    if tag == "style":
        _check_text("".join(element.itertext()), "The style element")


def validate_svg(content: bytes) -> bytes:
    """`content` if it is a safe SVG drawing (see the module's docstring), else a
    400 on the field `svg` saying what was refused."""
    limit = settings.GIFT_SVG_MAX_BYTES
    if len(content) > limit:
        raise _refuse(f"The SVG may be at most {limit} bytes.")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("The SVG must be UTF-8 text.") from None
    lowered = text.lower()
    if "<!doctype" in lowered or "<!entity" in lowered or "<!element" in lowered:
        raise _refuse("DOCTYPE and ENTITY declarations are not allowed.")
    body = text.lstrip("\ufeff \t\r\n")
    if body.startswith("<?xml ") or body.startswith("<?xml\t"):
        body = body[body.find("?>") + 2 :] if "?>" in body else "<?"
    if "<?" in body:
        raise _refuse("Processing instructions other than the XML declaration are not allowed.")
    try:
        # Safe here: every DTD, entity and processing instruction was refused above.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError:
        raise _refuse("Not a well-formed SVG document.") from None
    if _local(root.tag) != (SVG_NAMESPACE, "svg"):
        raise _refuse("The document must be an <svg> element in the SVG namespace.")
    for element in root.iter():
        _check_element(element)
    return content
