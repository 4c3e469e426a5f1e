"""The layers point one way (docs/architecture.md):

    configuration (allmine.settings, allmine.urls), API docs (allmine.apidocs)
        -> apps (accounts, livestreams) -> foundation (allmine.core)

and inside an app, the API, the admin, the commands and the tasks call services
and selectors, never the other way round. These tests read every module's
imports (as written, without running it) and fail on an arrow the wrong way."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "livestreams")
MAX_LINES = 500


def _modules(package: str):
    for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, absolute names (TYPE_CHECKING blocks included:
    an arrow is an arrow)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _wrong_arrows(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(package)
        for name in sorted(_imports(path))
        if _under(name, *forbidden)
    ]


def test_the_foundation_imports_no_app_and_nothing_above_it():
    forbidden = (*APPS, "allmine.apidocs", "allmine.settings", "allmine.urls", "allmine.wsgi")
    assert _wrong_arrows("allmine.core", forbidden) == []


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_the_foundation_of_the_project_package(app):
    forbidden = (
        "allmine.apidocs",
        "allmine.settings",
        "allmine.urls",
        "allmine.wsgi",
        "allmine.asgi",
    )
    assert _wrong_arrows(app, forbidden) == []


def test_accounts_knows_nothing_of_live_streams():
    assert _wrong_arrows("accounts", ("livestreams",)) == []


@pytest.mark.parametrize(
    "inner",
    [
        "livestreams.lifecycle",
        "livestreams.models",
        "livestreams.selectors",
        "livestreams.services",
        "livestreams.agora",
        "accounts.models",
        "accounts.selectors",
        "accounts.services",
    ],
)
def test_the_domain_never_calls_up_into_the_api_the_admin_or_the_commands(inner):
    outer = (
        "livestreams.api",
        "livestreams.admin",
        "livestreams.management",
        "accounts.api",
        "accounts.admin",
        "accounts.management",
    )
    assert _wrong_arrows(inner, outer) == []


def test_the_lifecycle_policy_needs_no_model():
    """Models use the policy (statuses, the one-open-stream rule), so the policy
    imports no model at run time."""
    tree = ast.parse((ROOT / "livestreams/lifecycle.py").read_text())
    runtime = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("livestreams")
    ]
    assert runtime == []


def test_no_module_of_application_code_is_over_the_limit():
    too_long = {
        str(path.relative_to(ROOT)): length
        for package in ("allmine", *APPS)
        for path in _modules(package)
        if (length := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_the_walk_sees_every_app_module():
    """The tests above cannot pass by reading nothing."""
    seen = {str(p.relative_to(ROOT)) for app in APPS for p in _modules(app)}
    assert "livestreams/services/broadcasting.py" in seen
    assert "accounts/services/credits.py" in seen
    assert "livestreams/models/streams.py" in {
        str(p.relative_to(ROOT)) for p in _modules("livestreams")
    }
    assert _imports(ROOT / "livestreams/services/broadcasting.py") >= {"livestreams.lifecycle"}
