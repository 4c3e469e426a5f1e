from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LivestreamsConfig(AppConfig):
    name = "livestreams"
    verbose_name = _("Live streams")
