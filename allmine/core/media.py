"""Absolute URLs for stored media and shipped static files."""

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


def delete_files_on_commit(names) -> None:
    """Delete stored files once the surrounding transaction has committed. Best
    effort: the change has committed, so a storage failure here is logged (an
    orphan file) rather than turned into an error for a request that succeeded."""
    names = [n for n in names if n]
    if names:
        transaction.on_commit(lambda: delete_files(names), robust=True)


def delete_files(names) -> None:
    for name in names:
        default_storage.delete(name)


class StoredFiles:
    """Files written during a unit of work, removed again if that work fails.

    with StoredFiles() as files, transaction.atomic():
        name = files.save("path/x.jpg", content)
        ...  # any exception here (or in the commit) deletes the file
    """

    def __init__(self):
        self.names: list[str] = []

    def save(self, name: str, content) -> str:
        stored = default_storage.save(name, content)
        self.names.append(stored)
        return stored

    def __enter__(self) -> "StoredFiles":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            delete_files(self.names)
        return False
