"""Absolute URLs for stored media and shipped static files."""

from collections.abc import Iterable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import IO, Any, Literal

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.templatetags.static import static


def absolute_url(url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    return f"{settings.PUBLIC_BASE_URL}{url}"


def media_url(name: str) -> str:
    return absolute_url(default_storage.url(name))


def static_file_url(path: str) -> str:
    return absolute_url(static(path))


def delete_files_on_commit(names: Iterable[str | None]) -> None:
    """Delete stored files once the surrounding transaction has committed. Best
    effort: the change has committed, so a storage failure here is logged (an
    orphan file) rather than turned into an error for a request that succeeded."""
    stored = [n for n in names if n]
    if stored:
        transaction.on_commit(lambda: delete_files(stored), robust=True)


def delete_files(names: Iterable[str]) -> None:
    for name in names:
        default_storage.delete(name)


# The units of work open in this request or task, innermost last: a file saved in
# an inner unit belongs to the outer ones too, so that an outer unit failing after
# an inner one succeeded (a response that cannot be rendered) removes it as well.
_open_units: ContextVar[tuple["StoredFiles", ...]] = ContextVar("open_file_units", default=())


class StoredFiles:
    """Files written during a unit of work, removed again if that work fails.

    with StoredFiles() as files, transaction.atomic():
        name = files.save("path/x.jpg", content)
        ...  # any exception here (or in the commit) deletes the file

    Units nest: a file saved inside an inner unit is removed when any unit around
    it fails."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._token: Token | None = None

    def save(self, name: str, content: IO[Any]) -> str:
        stored = default_storage.save(name, content)
        for unit in _open_units.get() or (self,):
            unit.names.append(stored)
        return stored

    def __enter__(self) -> "StoredFiles":
        self._token = _open_units.set((*_open_units.get(), self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if self._token is not None:
            _open_units.reset(self._token)
            self._token = None
        if exc_type is not None:
            delete_files(self.names)
        return False
