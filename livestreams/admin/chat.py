"""A stream's chat in the back office: the messages (a moderator removes one with a
reason: it disappears from the history, the apps are told over the channel, the
stream's audit trail records it), the superlikes, the Signaling messages the
server publishes (read-only, the failures easy to find), and the chat preview of
the stream's page."""

from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.timezone import localtime
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from allmine.core.admin import (
    ModeratorActionsMixin,
    ReadOnlyAdminMixin,
    ReasonedActionMixin,
    html_table,
)
from allmine.core.admin_actions import LeftOut, ModeratorAction, Selection
from allmine.core.history import admin_link
from livestreams.models import ChatMessage, LiveStream, RtmMessage, Superlike
from livestreams.models.chat import ChatMessageQuerySet
from livestreams.services.chat import chat_message_remove

# How many messages the stream's page shows.
CHAT_PREVIEW_ROWS = 20


def _excerpt(message: ChatMessage) -> str:
    return Truncator(message.content).chars(80)


class RemoveChatMessage(ModeratorAction[ChatMessage]):
    name = "remove"
    label = _("Remove chat message")
    intro = _(
        "The messages disappear from the chat history, and the apps in the room are told to "
        "take them off the screen. The removal is kept in the stream's history with your "
        "reason."
    )
    why_left_out = _("only a message still shown can be removed")
    applies_to = _("%(count)d of the %(total)d chosen messages can be removed.")

    def select(self, request: HttpRequest, queryset: QuerySet) -> Selection:
        shown = cast(ChatMessageQuerySet, queryset).shown()
        count, total = shown.count(), queryset.count()
        return Selection(
            applicable=shown,
            count=count,
            left_out=(LeftOut(_("already removed"), total - count),) if total > count else (),
        )

    def allows(self, request: HttpRequest, obj: ChatMessage) -> bool:
        return obj.hidden_at is None

    def queryset_for_listing(self, selection: Selection) -> QuerySet:
        return selection.applicable.select_related("sender", "live_stream")

    def describe(self, obj: ChatMessage) -> str:
        return gettext("%(sender)s in “%(stream)s”: %(text)s") % {
            "sender": obj.sender.username,
            "stream": obj.live_stream.title,
            "text": _excerpt(obj),
        }

    def apply(self, request: HttpRequest, obj: ChatMessage, data: dict[str, Any]) -> object:
        return chat_message_remove(
            actor=cast(User, request.user), message_id=obj.pk, reason=data["reason"]
        )

    def submit_label(self, count: int) -> str:
        return ngettext("Remove %(count)d message", "Remove %(count)d messages", count) % {
            "count": count
        }

    def done(self, count: int) -> str:
        return ngettext("Removed %(count)d message.", "Removed %(count)d messages.", count) % {
            "count": count
        }


CHAT_ACTIONS = (RemoveChatMessage(),)


class ChatReadOnlyAdmin(ModeratorActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or self.has_moderate_permission(request)


@admin.register(ChatMessage)
class ChatMessageAdmin(ReasonedActionMixin, ChatReadOnlyAdmin):
    list_display = ("created_at", "sender", "live_stream", "excerpt", "shown", "hidden_by")
    list_filter = (("hidden_at", admin.EmptyFieldListFilter),)
    list_select_related = ("sender", "live_stream", "hidden_by")
    search_fields = ("sender__username", "content", "=live_stream__id")
    search_help_text = _("Sender's username, words of the message, or the stream's exact id.")
    list_per_page = 50
    fields = (
        "id",
        "live_stream",
        "sender",
        "content",
        "created_at",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
    )
    readonly_fields = fields
    moderator_actions = CHAT_ACTIONS

    def get_list_display(self, request):
        if self.has_moderate_permission(request):
            return (*self.list_display, "remove_link")
        return self.list_display

    @admin.display(description=_("message"))
    def excerpt(self, obj):
        return _excerpt(obj)

    @admin.display(description=_("shown"), boolean=True, ordering="hidden_at")
    def shown(self, obj):
        return obj.hidden_at is None

    @admin.display(description=_("moderation"))
    def remove_link(self, message):
        if message.hidden_at is not None:
            return "—"
        url = reverse("admin:livestreams_chatmessage_do", args=[message.pk, "remove"])
        return format_html('<a class="button remove-link" href="{}">{}</a>', url, gettext("Remove"))

    def history_view(self, request, object_id, extra_context=None):
        """A message's history is its stream's (the stream is what the audit names)."""
        message = self.get_object(request, unquote(object_id))
        if message is None:
            return super().history_view(request, object_id, extra_context)
        return HttpResponseRedirect(
            reverse("admin:livestreams_livestream_history", args=[message.live_stream_id])
        )


@admin.register(Superlike)
class SuperlikeAdmin(ChatReadOnlyAdmin):
    list_display = ("created_at", "sender", "live_stream", "price_shown")
    list_select_related = ("sender", "live_stream")
    search_fields = ("sender__username", "=live_stream__id")

    @admin.display(description=_("price in credits"), ordering="price")
    def price_shown(self, obj):
        return number_format(obj.price, 2)


@admin.register(RtmMessage)
class RtmMessageAdmin(ChatReadOnlyAdmin):
    list_display = ("created_at", "event", "channel_name", "status", "attempts", "last_error")
    list_filter = ("status", "event")
    search_fields = ("channel_name", "=live_stream__id")


def when(value) -> str:
    return date_format(localtime(value), "SHORT_DATETIME_FORMAT") if value else "—"


def chat_preview(stream: LiveStream, *, with_remove: bool) -> str:
    """The stream page's chat: the latest messages (removed ones marked), each with
    a "Remove" button for a moderator, and a link to all of them. One query."""
    latest = list(
        ChatMessage.objects.filter(live_stream=stream)
        .select_related("sender")
        .order_by("-created_at", "-id")[:CHAT_PREVIEW_ROWS]
    )
    if not latest:
        return format_html("<p>{}</p>", gettext("No chat message yet."))
    headers = [gettext("when"), gettext("sender"), gettext("message"), gettext("shown")]
    if with_remove:
        headers.append(gettext("moderation"))
    rows = []
    for m in latest:
        row = [
            when(m.created_at),
            admin_link(m.sender),
            _excerpt(m),
            gettext("yes") if m.hidden_at is None else gettext("removed"),
        ]
        if with_remove:
            url = reverse("admin:livestreams_chatmessage_do", args=[m.pk, "remove"])
            row.append(
                "—"
                if m.hidden_at is not None
                else format_html(
                    '<a class="button remove-link" href="{}">{}</a>', url, gettext("Remove")
                )
            )
        rows.append(row)
    return html_table(
        headers,
        rows,
        css_class="chat-table",
        link=(
            reverse("admin:livestreams_chatmessage_changelist")
            + f"?live_stream__id__exact={stream.pk}",
            gettext("All chat messages of this stream"),
        ),
    )
