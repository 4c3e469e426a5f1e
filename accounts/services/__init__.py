"""Writes of accounts, one module per concern: `auth` (sign-up, sign-in, JWT
pairs), `photos` (profile photos and their variants), `credits` (the ledger and
the balance: the only place credits move), `moderation` (deactivating,
reactivating, adjusting credits from the back office)."""
