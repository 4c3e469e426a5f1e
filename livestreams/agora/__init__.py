"""Everything that speaks Agora: tokens and channel names (what the apps get),
the REST client and the kicking rules (what we ask of Agora), and the
Notification Center's notices (what Agora tells us)."""
