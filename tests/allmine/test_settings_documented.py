"""Every environment variable the code reads has a row in docs/deploy.md's table."""

import importlib.util
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
# env.str("NAME", ...), env.int(\n    "NAME", ...), os.environ.get('NAME'), os.getenv("NAME")...
READ = re.compile(
    r"""\b(?:env\.(?:str|int|bool|list|float|url|path|db_url|json|tuple|dict)"""
    r"""|os\.environ\.get|os\.getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|\bos\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]"""
)


def _read_names(path: Path) -> set[str]:
    return {a or b for a, b in READ.findall(path.read_text())}


def _names_in_the_table() -> set[str]:
    """The backquoted names in the first column of the table under "## Environment"."""
    section = DEPLOY_DOC.read_text().split("\n## Environment\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))
    return names


def _code_files() -> list[Path]:
    """The settings package's modules (one per concern), and gunicorn's."""
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "allmine.settings")
    settings_dir = Path(importlib.util.find_spec(module).origin).parent
    return [*sorted(settings_dir.glob("*.py")), ROOT / "gunicorn.conf.py"]


def test_the_grep_finds_what_the_code_reads():
    """The pattern sees multi-line calls and single quotes (a grep that finds
    nothing would let every setting go undocumented)."""
    *settings_files, gunicorn_file = _code_files()
    settings_names = set().union(*(_read_names(path) for path in settings_files))
    gunicorn_names = _read_names(gunicorn_file)
    assert {path.name for path in settings_files} >= {"__init__.py", "agora.py", "background.py"}
    assert {"SECRET_KEY", "DATABASE_URL", "AGORA_APP_CERTIFICATE", "LIVESTREAM_INTERESTS"} <= (
        settings_names
    )
    assert {"GUNICORN_BIND", "PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"} <= gunicorn_names
    assert len(settings_names) > 50


def test_every_environment_variable_read_has_a_row_in_the_deploy_table():
    documented = _names_in_the_table()
    for path in _code_files():
        missing = sorted(_read_names(path) - documented)
        assert not missing, f"{path.name} reads {missing}, which docs/deploy.md does not list"
