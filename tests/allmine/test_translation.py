"""The Turkish translation: the catalog is complete and compiled, and the admin
follows the browser's language."""

import gettext
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import django
import pytest
from django.conf import settings
from django.utils import translation

from livestreams.lifecycle import LiveStreamStatus
from tests.factories import LiveStreamFactory

MESSAGES = Path(settings.LOCALE_PATHS[0]) / "tr" / "LC_MESSAGES"
PO = MESSAGES / "django.po"
MO = MESSAGES / "django.mo"
DJANGO_TR_PO = Path(django.__file__).parent / "conf/locale/tr/LC_MESSAGES/django.po"

CHANGELIST = "/admin/livestreams/livestream/"
FUNDING = "/admin/livestreams/livestream/funding/"

# --- A tiny .po reader --------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self):
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), text
    return re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], text[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """Entries in file order (the header first); obsolete (#~) entries are skipped."""
    entries: list[Entry] = []
    entry, target = Entry(), None

    def flush():
        nonlocal entry
        if target is not None:
            entries.append(entry)
        entry = Entry()

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            flush()
            target = None
        elif line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            kind, index = target
            if kind == "msgstr":
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, kind, getattr(entry, kind) + _unquote(line))
        else:
            keyword, _space, value = line.partition(" ")
            if keyword in ("msgid", "msgctxt", "msgid_plural"):
                if keyword == "msgctxt" or (keyword == "msgid" and entry.msgctxt is None):
                    entry.line = number
                target = (keyword, None)
                setattr(entry, keyword, _unquote(value))
            else:
                match = re.fullmatch(r"msgstr(?:\[(\d+)\])?", keyword)
                assert match, f"{path}:{number}: cannot read {raw!r}"
                index = int(match.group(1) or 0)
                target = ("msgstr", index)
                entry.msgstr[index] = _unquote(value)
    flush()
    return entries


def header(entries: list[Entry]) -> dict[str, str]:
    first = entries[0]
    assert first.msgid == "" and first.msgctxt is None, "the header comes first"
    return dict(
        line.split(": ", 1) if ": " in line else (line.rstrip(":"), "")
        for line in first.msgstr[0].splitlines()
        if line
    )


def placeholders(text: str) -> list[str]:
    """Python %-format fields, str.format fields and HTML tags, sorted."""
    found = re.findall(r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%%", text)
    found += re.findall(r"\{[^{}]*\}", text)
    found += re.findall(r"</?[a-zA-Z][^>]*>", text)
    return sorted(found)


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return parse_po(PO)


@pytest.fixture(scope="module")
def messages(entries) -> list[Entry]:
    return entries[1:]


# --- The catalog --------------------------------------------------------------------


def test_the_reader_reads_what_gettext_writes(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: tr\\n"\n"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n'
        '#: a.py:1\n#, fuzzy, python-format\nmsgid ""\n"Long %(n)d "\n"text"\n'
        'msgid_plural "Long %(n)d texts"\nmsgstr[0] "Uzun %(n)d \\"metin\\""\nmsgstr[1] ""\n\n'
        'msgctxt "menu"\nmsgid "Open"\nmsgstr "Aç"\n\n'
        '#~ msgid "Gone"\n#~ msgstr "Gitti"\n',
        encoding="utf-8",
    )

    head, plural, contextual = parse_po(po)

    assert header([head]) == {
        "Language": "tr",
        "Plural-Forms": "nplurals=2; plural=(n > 1);",
    }
    assert (plural.msgid, plural.msgid_plural) == ("Long %(n)d text", "Long %(n)d texts")
    assert plural.msgstr == {0: 'Uzun %(n)d "metin"', 1: ""}
    assert plural.flags == {"fuzzy", "python-format"}
    assert (contextual.key, contextual.msgstr) == ("menu\x04Open", {0: "Aç"})


def test_header_is_turkish_utf8_with_djangos_plural_rule(entries):
    ours = header(entries)
    djangos = header(parse_po(DJANGO_TR_PO))

    assert ours["Language"] == "tr"
    assert ours["Content-Type"] == "text/plain; charset=UTF-8"
    assert ours["Content-Transfer-Encoding"] == "8bit"
    # One plural rule for the whole admin (Django's own Turkish uses this one).
    assert ours["Plural-Forms"] == djangos["Plural-Forms"]
    assert "fuzzy" not in entries[0].flags


def test_every_message_is_translated_and_none_is_fuzzy(messages):
    assert len(messages) > 250  # the back office's strings are all in the catalog
    untranslated = [
        f"line {e.line}: {e.msgid!r}"
        for e in messages
        if not e.msgstr or any(not text.strip() for text in e.msgstr.values())
    ]
    fuzzy = [f"line {e.line}: {e.msgid!r}" for e in messages if "fuzzy" in e.flags]

    assert untranslated == []
    assert fuzzy == []


def test_plural_entries_have_both_turkish_forms(messages):
    plurals = [e for e in messages if e.msgid_plural is not None]

    assert plurals, "the catalog has plural entries"
    assert [e.msgid for e in plurals if sorted(e.msgstr) != [0, 1]] == []


def test_translations_keep_placeholders_and_html(messages):
    wrong = []
    for e in messages:
        if e.msgid_plural is None:
            if placeholders(e.msgstr[0]) != placeholders(e.msgid):
                wrong.append(e.msgid)
        else:
            # The singular form may leave the count out ("one stream"); the
            # other form says everything the English plural says.
            allowed = set(placeholders(e.msgid)) | set(placeholders(e.msgid_plural))
            if (
                placeholders(e.msgstr[1]) != placeholders(e.msgid_plural)
                or not set(placeholders(e.msgstr[0])) <= allowed
            ):
                wrong.append(e.msgid)

    assert wrong == []


def test_compiled_catalog_matches_the_po_file(messages):
    """The shipped .mo says exactly what the .po says (run compilemessages after
    every change of the .po)."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalog = compiled._catalog  # what gettext looks messages up in

    expected = {}
    for e in messages:
        if e.msgid_plural is None:
            expected[e.key] = e.msgstr[0]
        else:
            for index, text in e.msgstr.items():
                expected[(e.key, index)] = text
    stale = {
        str(key): (catalog.get(key), text)
        for key, text in expected.items()
        if catalog.get(key) != text
    }
    extra = sorted(str(key) for key in catalog if key != "" and key not in expected)

    assert stale == {}
    assert extra == []
    assert compiled.info()["language"] == "tr"
    assert compiled.ngettext("%(counter)s stream", "%(counter)s streams", 3) == (
        "%(counter)s yayın"
    )


# --- The admin follows the browser's language -----------------------------------------


@pytest.fixture(autouse=True)
def _restore_language():
    """LocaleMiddleware activates the request's language in this thread and leaves
    it active: give the next test back the language it had."""
    with translation.override(translation.get_language()):
        yield


@pytest.fixture
def stream(db):
    return LiveStreamFactory(
        title="Gece konseri",
        status=LiveStreamStatus.PREPARING,
        funding_goal=Decimal("1000"),
        collected_funding=Decimal("500"),
    )


def _page(client, url, accept_language):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=accept_language)
    assert response.status_code == 200
    return response.content.decode()


def _text(html: str) -> str:
    """What the page says, without its markup (URLs name statuses in English)."""
    return re.sub(r"<[^>]*>", " ", html)


def _action_labels(html: str) -> list[str]:
    select = re.search(r'<select name="action"[^>]*>(.*?)</select>', html, re.S)
    assert select, "the changelist offers actions"
    return re.findall(r'<option value="[^"]+">([^<]+)</option>', select.group(1))


@pytest.mark.parametrize("accept_language", ["tr", "tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7"])
def test_streams_changelist_in_turkish(admin_client, stream, accept_language):
    html = _page(admin_client, CHANGELIST, accept_language)

    assert '<html lang="tr"' in html
    # Our actions, model names, columns, values and links ...
    assert _action_labels(html) == [
        "Yayını sonlandır",
        "Yayını iptal et",
        "Yayını kaldır",
        "Yayını geri yükle",
        "Bir kullanıcıyı yayından yasakla",
    ]
    assert "Canlı yayınlar" in html  # app and model name in the breadcrumbs
    assert "Değiştirmek için canlı yayın seçin" in html  # Django's sentence, our noun
    assert re.search(r'<th scope="col" class="[^"]*column-creator_link', html)
    assert ">Yayıncı</a>" in html  # the column header
    assert "Anlık izleyici" in html
    assert "hazırlanıyor" in html  # the status
    assert "ücretsiz" in html
    assert "500 / 1000 (%50,00)" in html  # the funding bar's text, Turkish style
    assert ">Fonlama ilerlemesi</a>" in html
    assert "fonlama hedefi var" in html  # a filter choice
    assert f'href="?interest={settings.LIVESTREAM_INTERESTS[0]}">müzik</a>' in html  # a value
    # ... and none of their English.
    assert ">Başlangıç</a>" in html  # the column of the planned start
    for english in (
        "End stream",
        "Live streams",
        "Funding progress",
        "preparing",
        "(50.00 %)",
        "(%50.00)",
        "Django",
        "View site",
    ):
        assert english not in _text(html)


@pytest.mark.parametrize("accept_language", ["en", "en-US,en;q=0.9"])
def test_streams_changelist_in_english(admin_client, stream, accept_language):
    html = _page(admin_client, CHANGELIST, accept_language)

    assert '<html lang="en"' in html
    assert _action_labels(html) == [
        "End stream",
        "Cancel stream",
        "Remove stream",
        "Restore stream",
        "Ban a user from the stream",
    ]
    assert "Live streams" in html
    assert "Select live stream to change" in html
    assert ">Creator</a>" in html
    assert "preparing" in html
    assert "500 / 1000 (50.00 %)" in html
    assert ">Funding progress</a>" in html
    for turkish in ("Şimdi sonlandır", "Canlı yayın", "Fonlama", "hazırlanıyor"):
        assert turkish not in _text(html)


def test_a_language_we_do_not_ship_falls_back_to_english(admin_client, stream):
    html = _page(admin_client, CHANGELIST, "de-DE,de;q=0.9")

    assert '<html lang="en"' in html
    assert "End stream" in html


def test_funding_page_in_turkish(admin_client, stream):
    html = _page(admin_client, FUNDING, "tr")

    assert "<title>Fonlama ilerlemesi |" in html
    assert "&rsaquo; Fonlama ilerlemesi" in html  # the breadcrumbs
    assert ">Toplamlar</h2>" in html
    assert ">CSV olarak indir</a>" in html
    assert "Günlük toplanan fonlar, son 30 gün</h2>" in html
    assert 'aria-label="Son 30 günde günlük toplanan fonlar; en yüksek gün: 0 kredi."' in html
    assert '<dd class="funding-totals__progress">500 / 1000 (%50,00)</dd>' in html
    assert "<td>hazırlanıyor</td>" in html
    assert "1 yayın" in html
    for english in ("Funding progress", "Totals", "Download CSV", "credits", "stream"):
        assert english not in _text(html)


def test_funding_page_in_english(admin_client, stream):
    html = _page(admin_client, FUNDING, "en")

    assert "<title>Funding progress |" in html
    assert ">Totals</h2>" in html
    assert ">Download CSV</a>" in html
    assert '<dd class="funding-totals__progress">500 / 1000 (50.00 %)</dd>' in html
    assert "Fonlama" not in _text(html)


# --- Turkish capitals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("tr", "işlem sonrası bakiye", "İşlem sonrası bakiye"),
        ("tr", "ılık", "Ilık"),
        ("tr-tr", "izleyici", "İzleyici"),
        ("en", "interest", "Interest"),
        ("tr", "", ""),
    ],
)
def test_capfirst_in_templates_knows_the_turkish_dotted_i(language, text, expected):
    from django.template import Context, Template

    with translation.override(language):
        assert Template("{{ value|capfirst }}").render(Context({"value": text})) == expected


def test_turkish_labels_starting_with_i_are_written_with_the_dotted_capital(entries):
    """Python's capfirst (form labels) would make a small i an "I": the labels
    that start with it are written capitalised in the catalog."""
    labels = {
        "balance after",
        "interest",
        "first joined at",
        "audience, watching now first",
        "cancelled by",
    }
    found = {e.msgid: e.msgstr[0] for e in entries if e.msgid in labels}
    assert set(found) == labels
    assert all(text.startswith("İ") for text in found.values()), found
