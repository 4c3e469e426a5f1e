"""Who may act in a stream (API-more §6.3), in one table.

Every service of the room asks `ensure_may_act(action, status=..., caller=...)`:
reading the chat, the viewers and the gift statistics, sending a chat message, a
superlike or a gift, setting a reminder, reporting, reading the participant
statistics. A refusal follows the contract's check order: a ban, then the role
(403), then the stream's status (409). The statuses come from `lifecycle`.

A **member** is the creator, an invited guest, or a user who joined as audience
(`POST /live-stream/join`). Lifted bans do not count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from allmine.core.errors import Conflict, InsufficientPermissions
from livestreams.lifecycle import LIVE, NOT_STARTED, LiveStreamStatus
from livestreams.models.bans import BanAction

S = LiveStreamStatus


class StreamAction(StrEnum):
    READ_ROOM = "read_room"  # chat history (§8.2), viewers (§7.10), gift statistics (§7.11)
    SEND_CHAT = "send_chat"  # §8.1
    SUPERLIKE = "superlike"  # §8.3
    SEND_GIFT = "send_gift"  # §12.2
    SET_REMINDER = "set_reminder"  # §7.9
    REPORT = "report"  # §10.1
    READ_STATISTICS = "read_statistics"  # participant statistics, §11.1


class Who(StrEnum):
    SIGNED_IN = "any signed-in user"
    MEMBERS = "members"
    AUDIENCE = "members except the creator and the guests"
    NOT_CREATOR = "anyone but the creator"
    BROADCASTERS_AND_MODERATORS = "the creator, the guests and the moderators"


def _no() -> bool:
    return False


@dataclass(frozen=True)
class Caller:
    """What the policy needs to know about the caller in one stream."""

    is_creator: bool
    is_guest: bool
    has_joined: bool  # an audience member (joined through POST /live-stream/join)
    ban: str | None  # the action type of the caller's ban in force, or None
    # Asked only by a rule that lets moderators in (it may cost a query).
    is_moderator: Callable[[], bool] = field(default=_no)

    @property
    def is_member(self) -> bool:
        return self.is_creator or self.is_guest or self.has_joined


@dataclass(frozen=True)
class Rule:
    statuses: frozenset[LiveStreamStatus] | None  # None: in any status
    who: Who
    refused_by: frozenset[str]  # the ban types that refuse it


ANY = None
BLOCK, CHAT_ONLY = BanAction.BLOCK.value, BanAction.CHAT_ONLY.value

A = StreamAction
RULES: dict[StreamAction, Rule] = {
    action: Rule(statuses, who, frozenset(refused_by))
    for action, statuses, who, refused_by in (
        # action           status needed  who                              refused by
        (A.READ_ROOM,       ANY,          Who.SIGNED_IN,                   {BLOCK}),
        (A.SEND_CHAT,       LIVE,         Who.MEMBERS,                     {BLOCK, CHAT_ONLY}),
        (A.SUPERLIKE,       LIVE,         Who.AUDIENCE,                    {BLOCK, CHAT_ONLY}),
        (A.SEND_GIFT,       LIVE,         Who.AUDIENCE,                    {BLOCK}),
        (A.SET_REMINDER,    NOT_STARTED,  Who.SIGNED_IN,                   {BLOCK}),
        (A.REPORT,          ANY,          Who.NOT_CREATOR,                 set()),
        (A.READ_STATISTICS, ANY,          Who.BROADCASTERS_AND_MODERATORS, set()),
    )
}  # fmt: skip

BANNED = {
    BLOCK: _("You are banned from this live stream."),
    CHAT_ONLY: _("You are banned from chatting in this live stream."),
}
WHO_REFUSED = {
    Who.SIGNED_IN: _("Sign in to do this."),
    Who.MEMBERS: _(
        "Only the creator, the guests and the audience of this live stream can do this."
    ),
    Who.AUDIENCE: _("Only the audience of this live stream can do this; join it first."),
    Who.NOT_CREATOR: _("The creator of this live stream cannot do this."),
    Who.BROADCASTERS_AND_MODERATORS: (
        _("Only the creator, the guests of this live stream or a moderator can do this.")
    ),
}
STATUS_REFUSED = _("This live stream is {status}; this needs it to be {needed}.")


def is_among(who: Who, caller: Caller) -> bool:
    if who == Who.SIGNED_IN:
        return True
    if who == Who.MEMBERS:
        return caller.is_member
    if who == Who.AUDIENCE:
        return caller.has_joined and not (caller.is_creator or caller.is_guest)
    if who == Who.NOT_CREATOR:
        return not caller.is_creator
    return caller.is_creator or caller.is_guest or caller.is_moderator()


def ensure_may_act(action: StreamAction, *, status: str, caller: Caller) -> None:
    """InsufficientPermissions (403) for a ban or a role that may not, then
    Conflict (409) for a status that does not allow it."""
    rule = RULES[action]
    if caller.ban is not None and caller.ban in rule.refused_by:
        raise InsufficientPermissions(str(BANNED[caller.ban]))
    if not is_among(rule.who, caller):
        raise InsufficientPermissions(str(WHO_REFUSED[rule.who]))
    if rule.statuses is not None and status not in rule.statuses:
        needed = " or ".join(sorted(rule.statuses))
        raise Conflict(str(STATUS_REFUSED).format(status=status, needed=needed))


def may_act(action: StreamAction, *, status: str, caller: Caller) -> bool:
    try:
        ensure_may_act(action, status=status, caller=caller)
    except (InsufficientPermissions, Conflict):
        return False
    return True
