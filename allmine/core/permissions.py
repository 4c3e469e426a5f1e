"""Who moderates: staff users holding the moderation permission (the Moderators
group, made by a migration, holds it; superusers hold every permission).

Moderation spans the apps (streams, and the accounts of their users), so the
role is named here, below them; the permission itself is declared on the live
stream model (`livestreams.models.LiveStream.Meta.permissions`)."""

MODERATE = "livestreams.moderate_livestream"


def is_moderator(user) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(MODERATE))
