"""How the live streams' audited actions read in the back office (the object's
History, the audit trail, the dashboard): allmine.core.history's vocabulary."""

from django.utils.translation import gettext_lazy as _

from allmine.core.history import (
    Change,
    register_action,
    register_target,
    show_choice,
    show_money,
    show_number,
    show_text,
    show_user,
    show_when,
    show_yes_no,
)
from livestreams.models import BanAction, GiftType, LiveStream, StreamReport

register_target(
    LiveStream,
    refundedContributions=Change(_("refunded contributions"), show_number),
    deletedAt=Change(_("removed at"), show_when),
    bannedUser=Change(_("banned user"), show_user, is_user=True),
    actionType=Change(_("ban type"), show_choice(BanAction.choices)),
    chatMessage=Change(_("chat message"), show_text),
    messageSender=Change(_("sender"), show_user, is_user=True),
)

# A report's entries link to it (its status reads by the field's choices).
register_target(StreamReport)
register_target(
    GiftType,
    creditAmount=Change(_("price"), show_money),
    isActive=Change(_("active"), show_yes_no),
    svg=Change(_("image"), show_text),
)

register_action("end", _("ended"), _("{actor} ended “{target}”"))
register_action("cancel", _("cancelled"), _("{actor} cancelled “{target}”"))
register_action("remove", _("removed"), _("{actor} removed “{target}”"))
register_action("restore", _("restored"), _("{actor} restored “{target}”"))
register_action("edit", _("edited"), _("{actor} edited “{target}”"))
register_action("change_price", _("prices changed"), _("{actor} changed the prices of “{target}”"))
register_action(
    "ban",
    _("banned"),
    _("{actor} banned {user} from “{target}”"),
    about_user="bannedUser",
)
register_action(
    "unban",
    _("ban lifted"),
    _("{actor} lifted the ban of {user} on “{target}”"),
    about_user="bannedUser",
)
register_action(
    "chat_message_remove",
    _("chat message removed"),
    _("{actor} removed a chat message of {user} in “{target}”"),
    about_user="messageSender",
)
register_action("report_resolved", _("report resolved"), _("{actor} resolved a report: {target}"))
register_action(
    "report_dismissed", _("report dismissed"), _("{actor} dismissed a report: {target}")
)
register_action("gift_type_create", _("gift type added"), _("{actor} added the gift type {target}"))
register_action(
    "gift_type_change", _("gift type changed"), _("{actor} changed the gift type {target}")
)
