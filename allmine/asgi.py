import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allmine.settings")

application = get_asgi_application()


def _refuse_to_start_misconfigured() -> None:
    """Run the system checks when an application server loads this module, so
    that production refuses to start (not only `manage.py`) with, say, a missing
    Agora certificate."""
    from django.conf import settings
    from django.core import checks

    if not settings.PRODUCTION:
        return
    errors = [m for m in checks.run_checks(include_deployment_checks=True) if m.is_serious()]
    if errors:
        raise SystemExit("Refusing to start:\n" + "\n".join(str(e) for e in errors))


_refuse_to_start_misconfigured()
