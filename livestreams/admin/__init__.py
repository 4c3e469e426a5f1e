"""The moderators' back office for live streams. Every change made here goes
through the same services as the API, so a rule is written once and every action
is audited.

- `streams`: the stream list and page, with the moderators' actions;
- `funding`: the funding progress page and its CSV export;
- `related`: read-only tables of participants, contributions, bans, rentals;
- `agora`: the Agora jobs (kicks, recordings) and notices, read-only, with the
  failures easy to find.
"""

from livestreams.admin import agora, funding, related, streams

__all__ = ["agora", "funding", "related", "streams"]
