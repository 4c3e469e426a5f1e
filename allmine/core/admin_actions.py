"""Moderator actions: one definition, offered on the change list (to the ticked
objects) and as a button on each object's page, going through one reason page
and one apply-and-report loop.

A `ModeratorAction` says what it is called, which of the chosen objects it
applies to (`select`, from the same rules the service applies: for streams,
`livestreams.lifecycle`), what will happen (`consequences`: who is kicked,
what is refunded, read through selectors), and how to apply it to one object
(`apply`: a service call). `ReasonedActionMixin` then

- lists the action in the change list's menu and gives each object a URL,
  `<object id>/do/<name>/`, and a button on its page (when `allows` it);
- shows the reason page: "18 of 50 can be ended", what is left out and why,
  what will happen, the objects, the form (a reason at least) and, above
  ADMIN_TYPED_CONFIRMATION_ABOVE objects, a box where the count is typed;
- applies the service to each object, one transaction each, and reports with
  ONE message: what was done, what was left as it was, and each refusal."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from allmine.core.errors import ApiError
from allmine.core.forms import ReasonForm

# How many names a summary message gives for one refusal before "and N more".
NAMES_IN_A_MESSAGE = 3


@dataclass(frozen=True)
class LeftOut:
    """Chosen objects an action leaves as they are, grouped: "30" "ended"."""

    label: str | Promise
    count: int


@dataclass(frozen=True)
class Selection:
    """What an action applies to among the chosen objects."""

    applicable: QuerySet
    count: int
    left_out: tuple[LeftOut, ...] = ()

    @property
    def total(self) -> int:
        return self.count + sum(group.count for group in self.left_out)


M = TypeVar("M", bound=Model)


class ModeratorAction(Generic[M]):
    """Subclass it and set `name` and `label`, and `apply`; the rest has defaults.

    `permission` names the model admin's `has_<permission>_permission(request)`
    that gates the action everywhere (menu, button, URL)."""

    name: str = ""
    label: str | Promise = ""
    permission: str = "moderate"
    form_class: type[forms.Form] = ReasonForm
    intro: str | Promise = ""
    # Why the objects `select` leaves out are left out ("only an active stream
    # can be ended"), shown with their count.
    why_left_out: str | Promise = ""
    # "%(count)d of %(total)d can be ended." when some are left out.
    applies_to: str | Promise = _("%(count)d of the %(total)d chosen can have this done.")

    def select(self, request: HttpRequest, queryset: QuerySet) -> Selection:
        """The objects of `queryset` the action applies to; by default all of them
        (then the service decides, object by object, and refusals are reported)."""
        return Selection(applicable=queryset, count=queryset.count())

    def allows(self, request: HttpRequest, obj: M) -> bool:
        """Whether the object's page offers the action (no query)."""
        return True

    def consequences(self, request: HttpRequest, selection: Selection) -> list[str]:
        """What applying it will do, in sentences (a fixed number of queries)."""
        return []

    def apply(self, request: HttpRequest, obj: M, data: dict[str, Any]) -> object:
        raise NotImplementedError

    def describe(self, obj: M) -> str:
        return str(obj)

    def initial(self, request: HttpRequest) -> dict[str, Any]:
        return {}

    def get_form(self, request: HttpRequest, data: Any = None) -> forms.Form:
        return self.form_class(data, initial=self.initial(request))

    def submit_label(self, count: int) -> str:
        return str(self.label)

    def done(self, count: int) -> str:
        return gettext("%(action)s: done for %(count)d.") % {"action": self.label, "count": count}

    def already_done(self, count: int) -> str | None:
        """What to say of objects `apply` found done already (it returned False)."""
        return None

    def queryset_for_listing(self, selection: Selection) -> QuerySet:
        """The applicable objects as the reason page lists them (select_related...)."""
        return selection.applicable


@dataclass
class _AdHocAction(ModeratorAction[Model]):
    """`reasoned_action()`'s callables as a ModeratorAction."""

    title: str | Promise = ""
    run: Callable[[Model, dict], object] = lambda obj, data: None
    done_text: Callable[[int], str] = lambda count: ""
    submit: str | Promise | None = None
    describe_obj: Callable[[Model], str] = str
    form: type[forms.Form] = ReasonForm
    intro_text: str | Promise = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.label = self.title
        self.form_class = self.form
        self.intro = self.intro_text

    def apply(self, request: HttpRequest, obj: Model, data: dict[str, Any]) -> object:
        return self.run(obj, data)

    def describe(self, obj: Model) -> str:
        return self.describe_obj(obj)

    def submit_label(self, count: int) -> str:
        return str(self.submit or self.title)

    def done(self, count: int) -> str:
        return self.done_text(count)


def refusal_text(exc: ApiError) -> str:
    """What a service said when it refused, in the language of this request:
    the details are made text here, while the request's language is active
    (lazy translations included), never earlier."""
    return " ".join(str(detail) for detail in exc.details)


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:NAMES_IN_A_MESSAGE])
    more = len(names) - NAMES_IN_A_MESSAGE
    if more <= 0:
        return shown
    return ngettext("%(names)s and %(count)d more", "%(names)s and %(count)d more", more) % {
        "names": shown,
        "count": more,
    }


def left_out_text(left_out: Iterable[LeftOut], why: str | Promise = "") -> str:
    """ "Left as they are: 30 ended, 2 expired (only an active stream can be ended)." """
    groups = ", ".join(
        gettext("%(count)d %(label)s") % {"count": g.count, "label": g.label} for g in left_out
    )
    if why:
        return gettext("Left as they are: %(groups)s (%(why)s).") % {"groups": groups, "why": why}
    return gettext("Left as they are: %(groups)s.") % {"groups": groups}


class ReasonedActionMixin:
    """For a ModelAdmin: its `moderator_actions`, and `reasoned_action()` for an
    action written as a method (`return self.reasoned_action(request, queryset,
    title=..., apply=lambda obj, data: service(...), done=lambda count: "...")`)."""

    moderator_actions: Sequence[ModeratorAction] = ()
    reasoned_action_template = "admin/reasoned_action.html"
    # How many of the objects the reason page names.
    confirmation_list_limit = 100

    # -- where the actions are offered -------------------------------------------------

    def _may(self, request: HttpRequest, action: ModeratorAction) -> bool:
        check = getattr(self, f"has_{action.permission}_permission", None)
        return bool(check and check(request))

    def moderator_action(self, name: str) -> ModeratorAction | None:
        return next((a for a in self.moderator_actions if a.name == name), None)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)  # type: ignore[misc]
        if self.actions is None or IS_POPUP_VAR in request.GET:  # type: ignore[attr-defined]
            return actions  # none, as Django's own
        for action in self.moderator_actions:
            if self._may(request, action):
                actions[action.name] = (self._list_action(action), action.name, action.label)
        return actions

    @staticmethod
    def _list_action(action: ModeratorAction) -> Callable:
        def run(model_admin: Any, request: HttpRequest, queryset: QuerySet) -> Any:
            return model_admin.run_moderator_action(request, action, queryset)

        run.short_description = action.label  # type: ignore[attr-defined]
        return run

    def get_urls(self) -> list:
        opts = self.model._meta  # type: ignore[attr-defined]
        return [
            path(
                "<path:object_id>/do/<str:action_name>/",
                self.admin_site.admin_view(self.object_action_view),  # type: ignore[attr-defined]
                name=f"{opts.app_label}_{opts.model_name}_do",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def object_action_url(self, obj: Model, action: ModeratorAction, **query: str) -> str:
        opts = self.model._meta  # type: ignore[attr-defined]
        url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_do",
            args=[quote(obj.pk), action.name],
            current_app=self.admin_site.name,  # type: ignore[attr-defined]
        )
        return f"{url}?{urlencode(query)}" if query else url

    def object_action_buttons(self, request: HttpRequest, obj: Model) -> list[tuple[str, str]]:
        """(url, label) of each action the object's page offers."""
        return [
            (self.object_action_url(obj, action), str(action.label))
            for action in self.moderator_actions
            if self._may(request, action) and action.allows(request, obj)
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Model | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["moderator_buttons"] = self.object_action_buttons(request, obj)
        return super().render_change_form(  # type: ignore[misc]
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )

    def object_action_view(
        self, request: HttpRequest, object_id: str, action_name: str
    ) -> HttpResponse:
        action = self.moderator_action(action_name)
        if action is None:
            raise Http404
        if not self._may(request, action):
            raise PermissionDenied
        opts = self.model._meta  # type: ignore[attr-defined]
        obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, opts, object_id)  # type: ignore[attr-defined]
        back = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change",
            args=[quote(obj.pk)],
            current_app=self.admin_site.name,  # type: ignore[attr-defined]
        )
        wanted = request.POST.get("next") or request.GET.get("next") or ""
        if wanted and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = wanted
        queryset = self.get_queryset(request).filter(pk=obj.pk)  # type: ignore[attr-defined]
        response = self.run_moderator_action(request, action, queryset, back_url=back, obj=obj)
        return response or HttpResponseRedirect(back)

    # -- the reason page and the loop -------------------------------------------------------

    def reasoned_action(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        title: str | Promise,
        apply: Callable[[Model, dict], object],
        done: Callable[[int], str],
        intro: str | Promise = "",
        submit_label: str | Promise | None = None,
        form_class: type[forms.Form] = ReasonForm,
        describe: Callable[[Model], str] = str,
        refusal: Callable[[Model, ApiError], str] | None = None,
    ) -> TemplateResponse | None:
        """An action written as a method of the model admin; see the class."""
        action = _AdHocAction(
            title=title,
            run=apply,
            done_text=done,
            submit=submit_label,
            describe_obj=describe,
            form=form_class,
            intro_text=intro,
        )
        action.name = request.POST.get("action", "")
        return self.run_moderator_action(request, action, queryset, refusal=refusal)

    def run_moderator_action(
        self,
        request: HttpRequest,
        action: ModeratorAction,
        queryset: QuerySet,
        *,
        back_url: str | None = None,
        obj: Model | None = None,
        refusal: Callable[[Model, ApiError], str] | None = None,
    ) -> TemplateResponse | None:
        """The reason page, or (once it comes back valid) the action applied and
        reported; None then, for the caller to redirect."""
        selection = action.select(request, queryset)
        posted = request.method == "POST" and request.POST.get("post") == "yes"
        form = action.get_form(request, request.POST if posted else None)
        typed = selection.count > settings.ADMIN_TYPED_CONFIRMATION_ABOVE
        if typed:
            form.fields["confirm_count"] = forms.IntegerField(
                label=gettext("Type %(count)d to confirm") % {"count": selection.count},
                help_text=gettext(
                    "This applies to many objects at once: type how many, as a last check."
                ),
            )
        if posted and form.is_valid():
            data = form.cleaned_data
            if typed and data.get("confirm_count") != selection.count:
                form.add_error(
                    "confirm_count",
                    gettext("Type %(count)d, the number of objects this applies to.")
                    % {"count": selection.count},
                )
            else:
                self.apply_and_report(
                    request,
                    selection.applicable.order_by("pk") if selection.count else [],
                    lambda target: action.apply(request, target, data),
                    done=action.done,
                    already_done=action.already_done,
                    refusal=refusal,
                    left_out=selection.left_out,
                    why_left_out=action.why_left_out,
                )
                return None
        return self._reason_page(request, action, selection, form, back_url=back_url, obj=obj)

    def _reason_page(
        self,
        request: HttpRequest,
        action: ModeratorAction,
        selection: Selection,
        form: forms.Form,
        *,
        back_url: str | None,
        obj: Model | None,
    ) -> TemplateResponse:
        limit = self.confirmation_list_limit
        listed = (
            list(action.queryset_for_listing(selection)[: limit + 1]) if selection.count else []
        )
        opts = self.model._meta  # type: ignore[attr-defined]
        changelist = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_changelist",
            current_app=self.admin_site.name,  # type: ignore[attr-defined]
        )
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": action.label,
            "intro": action.intro,
            "action_name": action.name,
            "submit_label": action.submit_label(selection.count),
            "form": form,
            "count": selection.count,
            "total": selection.total,
            "applies_to": (
                str(action.applies_to) % {"count": selection.count, "total": selection.total}
                if selection.left_out
                else ""
            ),
            "left_out": (
                left_out_text(selection.left_out, action.why_left_out) if selection.left_out else ""
            ),
            "consequences": action.consequences(request, selection) if selection.count else [],
            "objects": [action.describe(o) for o in listed[:limit]],
            "more": max(0, selection.count - limit),
            "opts": opts,
            "object": obj,
            "on_object_page": obj is not None,
            "back_url": back_url or request.get_full_path() or changelist,
            "action": request.POST.get("action", action.name),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "media": self.media + form.media,  # type: ignore[attr-defined]
        }
        request.current_app = self.admin_site.name  # type: ignore[attr-defined]
        return TemplateResponse(request, self.reasoned_action_template, context)

    def apply_and_report(
        self,
        request: HttpRequest,
        objects: Iterable[Model],
        apply: Callable[[Model], object],
        *,
        done: Callable[[int], str],
        already_done: Callable[[int], str | None] | None = None,
        refusal: Callable[[Model, ApiError], str] | None = None,
        left_out: Sequence[LeftOut] = (),
        why_left_out: str | Promise = "",
    ) -> int:
        """Call `apply` on each object (a service: one transaction each) and say,
        in ONE message, what was done, what was left as it was and what each
        refusal was (objects refused for the same reason named together). An
        `apply` returning False found its object done already (a page sent twice):
        counted apart, in `already_done`'s words. Returns how many were done."""
        applied = already = 0
        refused: dict[str, list[str]] = {}
        for obj in objects:
            try:
                if apply(obj) is False:
                    already += 1
                    continue
            except ApiError as exc:
                if refusal is not None:
                    refused.setdefault(refusal(obj, exc), [])
                else:
                    refused.setdefault(refusal_text(exc), []).append(str(obj))
            else:
                applied += 1
        parts = [done(applied)] if applied else []
        already_text = already_done(already) if already and already_done else None
        if already_text:
            parts.append(already_text)
        if not parts:
            parts.append(gettext("Nothing was changed."))
        if left_out:
            parts.append(left_out_text(left_out, why_left_out))
        for text, names in refused.items():
            if names:
                parts.append(
                    gettext("Not changed for %(objects)s: %(error)s")
                    % {"objects": _names(names), "error": text}
                )
            else:
                parts.append(text)
        if not (refused or left_out):
            level = messages.SUCCESS
        else:
            level = messages.WARNING if applied else messages.ERROR
        self.message_user(request, " ".join(parts), level)  # type: ignore[attr-defined]
        return applied


class ModeratorActionsMixin:
    """`has_moderate_permission`: the gate of the moderators' actions
    (`ModeratorAction.permission = "moderate"`, `@admin.action(permissions=["moderate"])`)."""

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        from allmine.core.permissions import is_moderator

        return is_moderator(request.user)


__all__ = [
    "LeftOut",
    "ModeratorAction",
    "ModeratorActionsMixin",
    "ReasonedActionMixin",
    "Selection",
    "left_out_text",
    "refusal_text",
]
