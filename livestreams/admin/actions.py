"""The moderators' actions on streams and bans, each offered in the change list
and as a button on the object's page (allmine.core.admin_actions).

Which streams an action applies to comes from `livestreams.lifecycle`, the
table the services apply (`statuses_allowing`, `can_transition`,
`removal_ends_first`); what it will do is read through
`livestreams.selectors.back_office`; the service does the work."""

from typing import Any, cast

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.http import HttpRequest
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from allmine.core.admin_actions import LeftOut, ModeratorAction, Selection
from livestreams.admin.forms import BanForm
from livestreams.lifecycle import (
    NOT_STARTED,
    Action,
    Actor,
    LiveStreamStatus,
    can_transition,
    removal_ends_first,
    statuses_allowing,
)
from livestreams.models import BanAction, LiveStream, LiveStreamBan
from livestreams.models.bans import LiveStreamBanQuerySet
from livestreams.selectors import back_office
from livestreams.services.bans import ban_create, ban_lift
from livestreams.services.moderation import (
    livestream_cancel,
    livestream_end,
    livestream_remove,
    livestream_restore,
)

# How many names "who is taken out of the channel" gives for one stream.
NAMES_SHOWN = 10


def _names(users: list[Any], total: int) -> str:
    names = ", ".join(u.username for u in users)
    more = total - len(users)
    if more > 0:
        return ngettext("%(names)s and %(count)d more", "%(names)s and %(count)d more", more) % {
            "names": names,
            "count": more,
        }
    return names


def _credits(amount: Any) -> str:
    return number_format(amount, 2)


def describe_stream(stream: LiveStream) -> str:
    """A stream as a reason page names it: “Title” (status, creator)."""
    return gettext("“%(title)s” (%(status)s, by %(creator)s)") % {
        "title": stream.title,
        "status": stream.get_status_display(),
        "creator": stream.creator.username,
    }


def _staff(request: HttpRequest) -> User:
    """The signed-in staff member: the admin site lets nobody else in."""
    return cast(User, request.user)


class StreamAction(ModeratorAction[LiveStream]):
    """An action on streams: it applies to the streams not removed (or, with
    `on_removed`, the removed ones) in the statuses from which the lifecycle
    lets a moderator make `transition` (any status without one)."""

    transition: Action | None = None
    on_removed: bool = False

    def _statuses(self) -> frozenset[LiveStreamStatus] | None:
        if self.transition is None:
            return None
        return statuses_allowing(self.transition, Actor.MODERATOR)

    def _applies(self) -> Q:
        applies = Q(deleted_at__isnull=not self.on_removed)
        statuses = self._statuses()
        return applies if statuses is None else applies & Q(status__in=statuses)

    def select(self, request: HttpRequest, queryset: QuerySet) -> Selection:
        """One query: the chosen streams counted by status and removal."""
        groups = (
            queryset.order_by()
            .annotate(
                removed=ExpressionWrapper(Q(deleted_at__isnull=False), output_field=BooleanField())
            )
            .values("status", "removed")
            .annotate(n=Count("pk"))
        )
        statuses = self._statuses()
        labels = dict(LiveStreamStatus.choices)
        count = 0
        left_out: dict[str, int] = {}
        for group in groups:
            if bool(group["removed"]) != self.on_removed:
                label = str(_("removed") if group["removed"] else _("not removed"))
            elif statuses is not None and group["status"] not in statuses:
                label = str(labels.get(group["status"], group["status"]))
            else:
                count += group["n"]
                continue
            left_out[label] = left_out.get(label, 0) + group["n"]
        return Selection(
            applicable=queryset.filter(self._applies()),
            count=count,
            left_out=tuple(LeftOut(label, n) for label, n in left_out.items()),
        )

    def allows(self, request: HttpRequest, obj: LiveStream) -> bool:
        if obj.is_removed != self.on_removed:
            return False
        return self.transition is None or can_transition(
            self.transition, obj.status, Actor.MODERATOR
        )

    def describe(self, obj: LiveStream) -> str:
        return describe_stream(obj)

    def queryset_for_listing(self, selection: Selection) -> QuerySet:
        return selection.applicable.select_related("creator").order_by("-created_at", "pk")

    def _one(self, selection: Selection) -> LiveStream | None:
        return selection.applicable.first() if selection.count == 1 else None


def _kicked(selection: Selection, *, ending_now: QuerySet) -> list[str]:
    """Who is taken out of the channel when the streams of `ending_now` end."""
    if selection.count == 1:
        stream = ending_now.select_related("creator").first()
        if stream is None:
            return []
        viewers = back_office.viewers_of([stream.pk]).get(stream.pk, 0)
        present = back_office.audience_present(stream, NAMES_SHOWN)
        guests = back_office.guests_in_channel(stream)
        lines = [
            gettext("Its host %(host)s is taken out of the channel.")
            % {"host": stream.creator.username}
        ]
        if guests:
            lines.append(
                ngettext(
                    "Its guest in the channel is taken out too: %(names)s.",
                    "Its %(count)d guests in the channel are taken out too: %(names)s.",
                    len(guests),
                )
                % {"count": len(guests), "names": _names([g.user for g in guests], len(guests))}
            )
        lines.append(
            ngettext(
                "%(count)d viewer is watching and is taken out of the channel: %(names)s.",
                "%(count)d viewers are watching and are taken out of the channel: %(names)s.",
                viewers,
            )
            % {"count": viewers, "names": _names([p.user for p in present], viewers)}
            if viewers
            else gettext("Nobody is watching it now.")
        )
        return lines
    viewers = back_office.audience_present_count(ending_now)
    return [
        ngettext(
            "%(count)d viewer is watching them and is taken out of the channel, with their hosts"
            " and guests.",
            "%(count)d viewers are watching them and are taken out of their channels, with their"
            " hosts and guests.",
            viewers,
        )
        % {"count": viewers}
    ]


def _refunds(streams: QuerySet) -> str:
    due = back_office.refunds_due(streams)
    if not due.contributions:
        return gettext("No funding to refund.")
    return ngettext(
        "%(count)d contribution (%(total)s credits) is refunded to %(people)d contributor.",
        "%(count)d contributions (%(total)s credits) are refunded to %(people)d contributors.",
        due.contributions,
    ) % {"count": due.contributions, "total": _credits(due.total), "people": due.contributors}


class EndStream(StreamAction):
    name = "end_now"
    label = _("End stream")
    transition = Action.END
    why_left_out = _("only a live stream can be ended")
    applies_to = _("%(count)d of the %(total)d chosen streams can be ended.")

    def consequences(self, request: HttpRequest, selection: Selection) -> list[str]:
        return [
            gettext("The stream ends now; nobody can join it again."),
            *_kicked(selection, ending_now=selection.applicable),
        ]

    def apply(self, request: HttpRequest, obj: LiveStream, data: dict[str, Any]) -> object:
        return livestream_end(actor=_staff(request), live_stream_id=obj.pk, reason=data["reason"])

    def submit_label(self, count: int) -> str:
        return ngettext("End %(count)d stream", "End %(count)d streams", count) % {"count": count}

    def done(self, count: int) -> str:
        return ngettext("Ended %(count)d stream.", "Ended %(count)d streams.", count) % {
            "count": count
        }


class CancelStream(StreamAction):
    name = "cancel"
    label = _("Cancel stream")
    transition = Action.CANCEL
    why_left_out = _("only a stream that has not started can be cancelled")
    applies_to = _("%(count)d of the %(total)d chosen streams can be cancelled.")

    def consequences(self, request: HttpRequest, selection: Selection) -> list[str]:
        return [
            gettext(
                "The stream will not take place; its status becomes “cancelled by host”, and its"
                " history records that you cancelled it."
            ),
            _refunds(selection.applicable),
        ]

    def apply(self, request: HttpRequest, obj: LiveStream, data: dict[str, Any]) -> object:
        return livestream_cancel(
            actor=_staff(request), live_stream_id=obj.pk, reason=data["reason"]
        )

    def submit_label(self, count: int) -> str:
        return ngettext("Cancel %(count)d stream", "Cancel %(count)d streams", count) % {
            "count": count
        }

    def done(self, count: int) -> str:
        return ngettext("Cancelled %(count)d stream.", "Cancelled %(count)d streams.", count) % {
            "count": count
        }


# The statuses in which a moderator's removal ends the stream first.
ENDED_BY_REMOVAL = frozenset(
    s for s in LiveStreamStatus if removal_ends_first(s, by_moderator=True)
)


class RemoveStream(StreamAction):
    name = "remove"
    label = _("Remove stream")
    why_left_out = _("already removed")
    applies_to = _("%(count)d of the %(total)d chosen streams can be removed.")

    def consequences(self, request: HttpRequest, selection: Selection) -> list[str]:
        lines = [
            gettext(
                "The stream disappears from the apps and its thumbnail is deleted; a moderator"
                " can restore it."
            )
        ]
        live = selection.applicable.filter(status__in=ENDED_BY_REMOVAL)
        if live.exists():
            lines.append(gettext("A live stream is ended first."))
            lines += _kicked(selection, ending_now=live)
        lines.append(_refunds(selection.applicable.filter(status__in=NOT_STARTED)))
        return lines

    def apply(self, request: HttpRequest, obj: LiveStream, data: dict[str, Any]) -> object:
        livestream_remove(actor=_staff(request), live_stream_id=obj.pk, reason=data["reason"])
        return None

    def submit_label(self, count: int) -> str:
        return ngettext("Remove %(count)d stream", "Remove %(count)d streams", count) % {
            "count": count
        }

    def done(self, count: int) -> str:
        return ngettext("Removed %(count)d stream.", "Removed %(count)d streams.", count) % {
            "count": count
        }


class RestoreStream(StreamAction):
    name = "restore"
    label = _("Restore stream")
    on_removed = True
    why_left_out = _("only a removed stream can be restored")
    applies_to = _("%(count)d of the %(total)d chosen streams can be restored.")

    def consequences(self, request: HttpRequest, selection: Selection) -> list[str]:
        return [
            gettext(
                "The stream is back in the apps as it was when removed: an ended stream stays"
                " ended, refunded funding stays refunded."
            )
        ]

    def apply(self, request: HttpRequest, obj: LiveStream, data: dict[str, Any]) -> object:
        return livestream_restore(
            actor=_staff(request), live_stream_id=obj.pk, reason=data["reason"]
        )

    def submit_label(self, count: int) -> str:
        return ngettext("Restore %(count)d stream", "Restore %(count)d streams", count) % {
            "count": count
        }

    def done(self, count: int) -> str:
        return ngettext("Restored %(count)d stream.", "Restored %(count)d streams.", count) % {
            "count": count
        }


class BanFromStream(StreamAction):
    name = "ban_user"
    label = _("Ban a user from the stream")
    form_class = BanForm
    why_left_out = _("a removed stream cannot be changed")
    applies_to = _("%(count)d of the %(total)d chosen streams can have a user banned.")

    def initial(self, request: HttpRequest) -> dict[str, Any]:
        user = request.GET.get("user")
        return {"user": user, "action_type": BanAction.BLOCK} if user else {}

    def consequences(self, request: HttpRequest, selection: Selection) -> list[str]:
        return [
            gettext(
                "Block: the user leaves the audience and the broadcasters now, is taken out of"
                " the channel, and cannot join again."
            ),
            gettext("Chat only: the user may keep watching, but not chat."),
            gettext("The creator of a stream cannot be banned from it."),
        ]

    def apply(self, request: HttpRequest, obj: LiveStream, data: dict[str, Any]) -> object:
        return ban_create(
            actor=_staff(request),
            live_stream_id=obj.pk,
            target_user_id=data["user"].pk,
            action_type=data["action_type"],
            reason=data["reason"],
        )

    def submit_label(self, count: int) -> str:
        return ngettext(
            "Ban the user from %(count)d stream", "Ban the user from %(count)d streams", count
        ) % {"count": count}

    def done(self, count: int) -> str:
        return ngettext(
            "Banned the user from %(count)d stream.",
            "Banned the user from %(count)d streams.",
            count,
        ) % {"count": count}


class LiftBan(ModeratorAction[LiveStreamBan]):
    name = "lift"
    label = _("Lift ban")
    intro = _("The users may join these streams again, and chat in them.")
    why_left_out = _("only a ban in force can be lifted")
    applies_to = _("%(count)d of the %(total)d chosen bans can be lifted.")

    def select(self, request: HttpRequest, queryset: QuerySet) -> Selection:
        in_force = cast(LiveStreamBanQuerySet, queryset).in_force()  # the bans admin's
        count, total = in_force.count(), queryset.count()
        return Selection(
            applicable=in_force,
            count=count,
            left_out=(LeftOut(_("already lifted"), total - count),) if total > count else (),
        )

    def allows(self, request: HttpRequest, obj: LiveStreamBan) -> bool:
        return obj.lifted_at is None

    def queryset_for_listing(self, selection: Selection) -> QuerySet:
        return selection.applicable.select_related("user", "live_stream")

    def describe(self, obj: LiveStreamBan) -> str:
        return str(obj)

    def apply(self, request: HttpRequest, obj: LiveStreamBan, data: dict[str, Any]) -> object:
        return ban_lift(actor=_staff(request), ban_id=obj.pk, reason=data["reason"])

    def submit_label(self, count: int) -> str:
        return ngettext("Lift %(count)d ban", "Lift %(count)d bans", count) % {"count": count}

    def done(self, count: int) -> str:
        return ngettext("Lifted %(count)d ban.", "Lifted %(count)d bans.", count) % {"count": count}


STREAM_ACTIONS = (EndStream(), CancelStream(), RemoveStream(), RestoreStream(), BanFromStream())
BAN_ACTIONS = (LiftBan(),)
