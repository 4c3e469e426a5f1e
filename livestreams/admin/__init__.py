"""The moderators' back office for live streams. Every change made here goes
through the same services as the API, so a rule is written once and every action
is audited.

- `streams`: the stream list and page;
- `actions`: the moderators' actions (end, cancel, remove, restore, ban, lift),
  offered in the lists and on each object's page;
- `dashboard`: the live streams' panels of the front page;
- `history`: how their audited actions read;
- `funding`: the funding progress page and its CSV export;
- `related`: read-only tables of participants, contributions, bans, rentals;
- `reports`: the moderators' queue of reports;
- `chat`: the chat messages (which moderators remove), the superlikes, the
  Signaling messages the server publishes, and the stream page's chat;
- `gifts`: the gift types staff manage, the gifts sent, the reminders;
- `agora`: the Agora jobs (kicks, recordings) and notices, read-only, with the
  failures easy to find.
"""

from livestreams.admin import (
    actions,
    agora,
    chat,
    dashboard,
    funding,
    gifts,
    history,
    related,
    reports,
    streams,
)

__all__ = [
    "actions",
    "agora",
    "chat",
    "dashboard",
    "funding",
    "gifts",
    "history",
    "related",
    "reports",
    "streams",
]
