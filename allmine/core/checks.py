"""System checks that stop a misconfigured production server from starting."""

import logging
import re

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
MAX_AGORA_TOKEN_TTL = 86400

logger = logging.getLogger(__name__)


@register(Tags.security, deploy=False)
def check_agora_credentials(app_configs, **kwargs):
    messages = []
    placeholders = (
        settings.AGORA_APP_ID == settings.AGORA_PLACEHOLDER_APP_ID
        or settings.AGORA_APP_CERTIFICATE == settings.AGORA_PLACEHOLDER_APP_CERTIFICATE
    )
    for name in ("AGORA_APP_ID", "AGORA_APP_CERTIFICATE"):
        value = getattr(settings, name)
        if not HEX32.fullmatch(value or ""):
            messages.append(
                Error(
                    f"{name} must be 32 hexadecimal characters.",
                    hint="Copy it from the Agora console (Project management).",
                    id="allmine.E001",
                )
            )
    if settings.PRODUCTION and placeholders:
        messages.append(
            Error(
                "The Agora App ID or certificate is the development placeholder.",
                hint="Set AGORA_APP_ID and AGORA_APP_CERTIFICATE to your project's values.",
                id="allmine.E002",
            )
        )
    elif placeholders and settings.DJANGO_ENV == "development":
        messages.append(
            Warning(
                "Agora runs with a DEVELOPMENT PLACEHOLDER App ID and certificate: "
                "tokens are well-formed but Agora will reject them.",
                hint="Set AGORA_APP_ID and AGORA_APP_CERTIFICATE to test against Agora.",
                id="allmine.W001",
            )
        )
    if not 1 <= settings.AGORA_TOKEN_TTL <= MAX_AGORA_TOKEN_TTL:
        messages.append(
            Error(
                f"AGORA_TOKEN_TTL must be between 1 and {MAX_AGORA_TOKEN_TTL} seconds.",
                id="allmine.E003",
            )
        )
    return messages


@register(Tags.security, deploy=False)
def check_secret_key(app_configs, **kwargs):
    if settings.PRODUCTION and (
        not settings.SECRET_KEY or settings.SECRET_KEY == settings.DEV_SECRET_KEY
    ):
        return [Error("SECRET_KEY must be set in production.", id="allmine.E004")]
    return []


def refuse_to_start_if_misconfigured() -> None:
    """Run the system checks when an application server loads the project, so that
    production refuses to start (not only `manage.py`) with, say, a missing Agora
    certificate.

    Outside production, say once per server process (runserver, gunicorn) that
    Agora runs with the placeholder. The W001 system check is silenced in settings:
    every manage.py command runs the checks, so `make run` printed it three times."""
    from django.core import checks

    if not settings.PRODUCTION:
        for message in check_agora_credentials(None):
            if message.id == "allmine.W001":
                logger.warning("%s %s", message.msg, message.hint)
        return
    errors = [m for m in checks.run_checks(include_deployment_checks=True) if m.is_serious()]
    if errors:
        raise SystemExit("Refusing to start:\n" + "\n".join(str(e) for e in errors))
