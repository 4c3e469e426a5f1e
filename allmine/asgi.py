import os
import sys
from importlib import import_module

from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allmine.settings")
try:  # the settings read the environment: a bad value is one line, not a traceback
    import_module(os.environ["DJANGO_SETTINGS_MODULE"])
except ImproperlyConfigured as error:
    sys.exit(f"Configuration error: {error}")

application = get_asgi_application()

from allmine.core.checks import refuse_to_start_if_misconfigured  # noqa: E402  (needs the apps)

refuse_to_start_if_misconfigured()
