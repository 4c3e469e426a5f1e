"""Writes of the live-stream domain, one module per concern. Every rule of the
contract about an operation is written here once; the API views, the admin,
the staff commands and the background tasks all call these functions.

- `creation`: creating a stream;
- `broadcasting`: the creator and the invited guests going live;
- `audience`: joining as audience, renewing tokens, leaving;
- `money`: revenue shares, funding, refunds, replay rentals;
- `moderation`: ending, cancelling, removing, restoring, back-office edits;
- `bans`: banning a user from a stream and lifting it;
- `jobs`: what the periodic jobs do (expire, end overdue, settle replay revenue);
- `agora_notices`: applying the notices of Agora's Notification Center;
- `agora_kicks`: kicking rules at Agora for bans and ended streams, and lifting them;
- `recording`: Agora Cloud Recording of recorded streams, and the replay's URL;
- `presence`: presence that cannot drift (expiry, Agora's channel lists);
- `access`: loading a stream for a caller and the checks every module shares.

A service that returns a stream reads what the response shows inside its own
transaction: a database failure after the commit can then never turn a change
that was saved into an error the client would retry (and pay twice for).
"""
