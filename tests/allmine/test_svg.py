"""The SVG check of gift images (allmine.core.svg): drawings pass, byte for byte;
anything that could run code, fetch something or expand entities is refused."""

import pytest

from allmine.core.errors import ValidationFailed
from allmine.core.svg import validate_svg

NS = 'xmlns="http://www.w3.org/2000/svg"'
XLINK = 'xmlns:xlink="http://www.w3.org/1999/xlink"'

ACCEPTED = {
    "plain": f"<svg {NS}/>",
    "declaration": f'<?xml version="1.0" encoding="UTF-8"?>\n<svg {NS} viewBox="0 0 1 1"/>',
    "gradient-and-use": (
        f'<svg {NS} {XLINK}><defs><radialGradient id="g"><stop offset="0" stop-color="gold"/>'
        '</radialGradient><path id="p" d="M0 0h1v1z"/></defs>'
        '<use xlink:href="#p" fill="url(#g)"/><use href="#p" style="fill: url( \'#g\' )"/></svg>'
    ),
    "style-element": f"<svg {NS}><style>.a {{ fill: #f00; stroke-width: 2 }}</style></svg>",
    "animation": (
        f'<svg {NS}><circle r="2"><animate attributeName="r" values="2;4;2" dur="1s" '
        'repeatCount="indefinite"/></circle></svg>'
    ),
    "filters": (
        f'<svg {NS}><filter id="f"><feGaussianBlur stdDeviation="2"/><feOffset dx="1"/>'
        '</filter><text x="0" y="9" filter="url(#f)">Hediye <tspan>🎁</tspan></text></svg>'
    ),
    "comment": f"<svg {NS}><!-- made by hand --><rect width='1' height='1'/></svg>",
    "bom": "\ufeff" + f"<svg {NS}/>",
}

REFUSED = {
    "script": (f"<svg {NS}><script>alert(1)</script></svg>", "<script>"),
    "script-in-a-group": (f"<svg {NS}><g><g><script/></g></g></svg>", "<script>"),
    "foreign-object": (f"<svg {NS}><foreignObject/></svg>", "<foreignObject>"),
    "iframe": (f'<svg {NS}><iframe src="https://e"/></svg>', "<iframe>"),
    "image": (f'<svg {NS}><image href="https://e/x.png"/></svg>', "<image>"),
    "fe-image": (f'<svg {NS}><filter><feImage href="https://e"/></filter></svg>', "<feImage>"),
    "anchor": (f'<svg {NS}><a href="#x"><rect/></a></svg>', "<a>"),
    "xhtml-inside": (f'<svg {NS}><div xmlns="http://www.w3.org/1999/xhtml"/></svg>', "<div>"),
    "no-namespace": ("<svg/>", "SVG namespace"),
    "not-svg-root": ('<html xmlns="http://www.w3.org/2000/svg"/>', "<svg> element"),
    "onload": (f'<svg {NS} onload="alert(1)"/>', "onload"),
    "onclick-upper": (f'<svg {NS}><rect ONCLICK="x"/></svg>', "ONCLICK"),
    "onbegin-animation": (f'<svg {NS}><animate onbegin="x"/></svg>', "onbegin"),
    "javascript-href": (f'<svg {NS} {XLINK}><use xlink:href="javascript:x"/></svg>', "link"),
    "external-href": (f'<svg {NS}><use href="https://evil.example/a.svg#x"/></svg>', "link"),
    "relative-href": (f'<svg {NS}><use href="other.svg#x"/></svg>', "link"),
    "data-href": (f'<svg {NS}><use href="data:image/svg+xml,&lt;svg/&gt;"/></svg>', "link"),
    "split-javascript": (f'<svg {NS}><rect fill="java&#x9;script:x"/></svg>', "script"),
    "javascript-value": (
        f'<svg {NS}><set attributeName="fill" to="javascript:x"/></svg>',
        "script",
    ),
    "animate-href": (f'<svg {NS}><set attributeName="href" to="#a"/></svg>', "animation"),
    "animate-xlink-href": (
        f'<svg {NS}><animate attributeName="xlink:href" values="#a;#b"/></svg>',
        "animation",
    ),
    "animate-handler": (f'<svg {NS}><set attributeName="onclick" to="x"/></svg>', "animation"),
    "external-url": (f'<svg {NS}><rect fill="url(https://e/p.svg#g)"/></svg>', "url(#id)"),
    "style-import": (f"<svg {NS}><style>@import url(https://e/x.css);</style></svg>", "import"),
    "style-external": (f"<svg {NS}><style>a{{fill:url(//e/x)}}</style></svg>", "url(#id)"),
    "style-attribute-data": (f'<svg {NS}><rect style="fill:url(data:x)"/></svg>', "data:"),
    "doctype": (f"<!DOCTYPE svg><svg {NS}/>", "DOCTYPE"),
    "entity": (f'<!DOCTYPE svg [<!ENTITY a "b">]><svg {NS}>&a;</svg>', "DOCTYPE"),
    "billion-laughs": (
        '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f"<svg {NS}>&b;</svg>",
        "DOCTYPE",
    ),
    "stylesheet-pi": (f'<?xml-stylesheet href="https://e/x.css"?><svg {NS}/>', "Processing"),
    "pi-inside": (f"<svg {NS}><?php echo 1; ?></svg>", "Processing"),
    "undefined-entity": (f"<svg {NS}>&nbsp;</svg>", "well-formed"),
    "unclosed": (f"<svg {NS}><g>", "well-formed"),
    "empty": ("", "well-formed"),
}


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_a_drawing_is_accepted_as_it_is(text):
    content = text.encode()
    assert validate_svg(content) is content


@pytest.mark.parametrize(("text", "says"), REFUSED.values(), ids=REFUSED.keys())
def test_a_hostile_svg_is_refused(text, says):
    with pytest.raises(ValidationFailed) as refused:
        validate_svg(text.encode())
    (detail,) = refused.value.details
    assert detail.startswith("svg: ")
    assert says in detail


def test_too_large_or_not_utf8(settings):
    settings.GIFT_SVG_MAX_BYTES = 100
    with pytest.raises(ValidationFailed, match="at most 100 bytes"):
        validate_svg(f"<svg {NS}>{' ' * 100}</svg>".encode())
    settings.GIFT_SVG_MAX_BYTES = 10_000
    with pytest.raises(ValidationFailed, match="UTF-8"):
        validate_svg(f"<svg {NS}><text>\u00e7</text></svg>".encode("latin-1"))
