"""The audit trail told as sentences, translated when shown:

    Ayşe ended “Akustik konser” — reason: spam
    status: active → ended

Each app says, once, how its audited actions read (`register_action`) and what
its audited objects are (`register_target`, with any value of `changes` that is
not a field of the model); `tell` turns audit entries into `Told` lines with
links, loading every object and user they mention in a fixed number of queries
(one for the entries' targets of each type, one for the users they name).

Everything here is display: the services keep writing plain `audit_record`s."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format, number_format
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext

from allmine.core.models import AuditEntry

EMPTY = "—"


@dataclass
class Refs:
    """The objects the entries being told mention, loaded once for all of them."""

    targets: dict[str, dict[str, models.Model]] = field(default_factory=dict)
    users: dict[str, models.Model] = field(default_factory=dict)


# A value of `changes` shown by name: (the stored value, the loaded references) -> text.
Show = Callable[[Any, Refs], str | SafeString]


def admin_link(obj: models.Model | None, text: str | None = None) -> str | SafeString:
    """The object's name, linked to its admin page when it has one."""
    if obj is None:
        return text or EMPTY
    opts = obj._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return text or str(obj)
    return format_html('<a href="{}">{}</a>', url, text or str(obj))


# --- How values read -----------------------------------------------------------------


def show_text(value: Any, refs: Refs) -> str:
    return EMPTY if value in (None, "") else str(value)


def show_money(value: Any, refs: Refs) -> str:
    if value in (None, ""):
        return EMPTY
    try:
        return number_format(Decimal(str(value)), 2)
    except InvalidOperation:
        return str(value)


def show_number(value: Any, refs: Refs) -> str:
    return EMPTY if value is None else number_format(value)


def show_when(value: Any, refs: Refs) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return show_text(value, refs)
    return date_format(localtime(moment), "SHORT_DATETIME_FORMAT")


def show_yes_no(value: Any, refs: Refs) -> str:
    if value is None:
        return EMPTY
    return gettext("yes") if value else gettext("no")


def show_user(value: Any, refs: Refs) -> str | SafeString:
    if value in (None, ""):
        return EMPTY
    user = refs.users.get(str(value))
    return admin_link(user, None if user is not None else f"#{value}")


def show_choice(choices: Iterable[tuple[Any, Any]]) -> Show:
    labels = dict(choices)

    def show(value: Any, refs: Refs) -> str:
        return EMPTY if value in (None, "") else str(labels.get(value, value))

    return show


# --- The vocabulary ----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """How one key of `changes` reads: its name, how its values show, and whether
    they are user ids (loaded with the users)."""

    label: str | Promise
    show: Show = show_text
    is_user: bool = False


@dataclass(frozen=True)
class Target:
    model: type[models.Model]
    changes: dict[str, Change]


@dataclass(frozen=True)
class Wording:
    label: str | Promise  # the action's short name ("ended"), for filters
    sentence: str | Promise  # "{actor} ended “{target}”"; also {user} with `about_user`
    about_user: str | None  # the key of `changes` naming the user it was done to


_targets: dict[str, Target] = {}
_wordings: dict[str, Wording] = {}


def register_target(model: type[models.Model], **changes: Change) -> None:
    """Audit entries about `model` (target_type = its model name) link to it; the
    keys of `changes` that are not its fields read as given here."""
    _targets[str(model._meta.model_name)] = Target(model=model, changes=changes)


def register_action(
    action: str,
    label: str | Promise,
    sentence: str | Promise,
    *,
    about_user: str | None = None,
) -> None:
    _wordings[action] = Wording(label=label, sentence=sentence, about_user=about_user)


def action_label(action: str) -> str:
    """An action's short name in the active language (its code if no app named it)."""
    wording = _wordings.get(action)
    return str(wording.label) if wording else action


def action_choices() -> list[tuple[str, str]]:
    """(action, its short name) for every registered action, for filters."""
    return sorted(((a, str(w.label)) for a, w in _wordings.items()), key=lambda c: c[1])


def _change_for(target_type: str, key: str) -> Change:
    target = _targets.get(target_type)
    if target is None:
        return Change(label=key)
    if key in target.changes:
        return target.changes[key]
    try:
        model_field = target.model._meta.get_field(key)
    except FieldDoesNotExist:  # a key the service named itself reads as itself
        return Change(label=key)
    label = getattr(model_field, "verbose_name", key)
    choices = getattr(model_field, "choices", None)
    if choices:
        return Change(label=label, show=show_choice(choices))
    if model_field.is_relation and model_field.related_model is get_user_model():
        return Change(label=label, show=show_user, is_user=True)
    if isinstance(model_field, models.DecimalField):
        return Change(label=label, show=show_money)
    if isinstance(model_field, models.DateTimeField):
        return Change(label=label, show=show_when)
    if isinstance(model_field, models.BooleanField):
        return Change(label=label, show=show_yes_no)
    if isinstance(model_field, models.IntegerField):
        return Change(label=label, show=show_number)
    return Change(label=label)


# --- Telling -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Told:
    """One audit entry as the back office shows it."""

    entry: AuditEntry
    when: str
    sentence: SafeString
    reason: str
    changes: list[tuple[str, str | SafeString, str | SafeString]]  # (name, before, after)


def _load(entries: list[AuditEntry]) -> Refs:
    refs = Refs()
    ids_by_type: dict[str, set[str]] = defaultdict(set)
    user_ids: set[str] = set()
    for entry in entries:
        ids_by_type[entry.target_type].add(entry.target_id)
        for key, pair in (entry.changes or {}).items():
            if _change_for(entry.target_type, key).is_user:
                user_ids.update(str(v) for v in pair if v not in (None, ""))
    for target_type, ids in ids_by_type.items():
        target = _targets.get(target_type)
        if target is not None:
            refs.targets[target_type] = target.model._default_manager.in_bulk(list(ids))
    if user_ids:
        users = get_user_model()._default_manager.in_bulk(list(user_ids))
        refs.users = {str(pk): user for pk, user in users.items()}
    return refs


def _subject(entry: AuditEntry, wording: Wording | None) -> Any:
    if wording is None or wording.about_user is None:
        return None
    old, new = (entry.changes or {}).get(wording.about_user, [None, None])
    return new if new not in (None, "") else old


def tell(entries: Iterable[AuditEntry]) -> list[Told]:
    """The entries (loaded with their actor) as sentences with links, in the
    active language. Queries: one per type of target among them, and one for
    the users their changes name."""
    entries = list(entries)
    refs = _load(entries)
    told = []
    for entry in entries:
        wording = _wordings.get(entry.action)
        target = refs.targets.get(entry.target_type, {}).get(entry.target_id)
        actor = admin_link(entry.actor) if entry.actor_id else gettext("The system")
        subject = _subject(entry, wording)
        if wording is not None:
            sentence = format_html(
                str(wording.sentence),
                actor=actor,
                target=admin_link(target, None if target else "#" + entry.target_id),
                user=show_user(subject, refs),
            )
        else:
            sentence = format_html(
                gettext("{actor}: {action} on {target}"),
                actor=actor,
                action=entry.action,
                target=admin_link(target, None if target else "#" + entry.target_id),
            )
        changes = []
        for key, pair in (entry.changes or {}).items():
            if wording is not None and key == wording.about_user:
                continue  # already in the sentence
            change = _change_for(entry.target_type, key)
            old, new = [*pair, None, None][:2]
            changes.append((str(change.label), change.show(old, refs), change.show(new, refs)))
        told.append(
            Told(
                entry=entry,
                when=date_format(localtime(entry.created_at), "SHORT_DATETIME_FORMAT"),
                sentence=sentence,
                reason=entry.reason,
                changes=changes,
            )
        )
    return told


def told_line(told: Told) -> SafeString:
    """The sentence and its reason on one line: “… — reason: spam”."""
    if not told.reason:
        return told.sentence
    return format_html(
        "{} — {}", told.sentence, gettext("reason: %(reason)s") % {"reason": told.reason}
    )


__all__ = [
    "Change",
    "Told",
    "action_choices",
    "action_label",
    "admin_link",
    "register_action",
    "register_target",
    "show_choice",
    "show_money",
    "show_number",
    "show_text",
    "show_user",
    "show_when",
    "show_yes_no",
    "tell",
    "told_line",
]
