import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allmine.settings")

application = get_wsgi_application()

from allmine.core.checks import refuse_to_start_if_misconfigured  # noqa: E402  (needs the apps)

refuse_to_start_if_misconfigured()
