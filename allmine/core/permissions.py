"""Who moderates: staff users holding the moderation permission (the Moderators
group, made by a migration, holds it; superusers hold every permission)."""

MODERATE = "livestreams.moderate_livestream"


def is_moderator(user) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(MODERATE))
