import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allmine.settings")

application = get_asgi_application()

from allmine.core.checks import refuse_to_start_if_misconfigured  # noqa: E402  (needs the apps)

refuse_to_start_if_misconfigured()
