"""The moderators' back office for live streams. Every change made here goes
through the same services as the API, so a rule is written once and every action
is audited.

- `streams`: the stream list and page, with the moderators' actions;
- `funding`: the funding progress page and its CSV export;
- `related`: read-only tables of participants, contributions, bans, rentals;
- `reports`: the moderators' queue of reports;
- `gifts`: the gift types staff manage, the gifts sent, the reminders.
"""

from livestreams.admin import funding, gifts, related, reports, streams

__all__ = ["funding", "gifts", "related", "reports", "streams"]
