from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    default = True  # "allmine.core" in INSTALLED_APPS; the admin's config is named there
    name = "allmine.core"
    # The label the audit trail's table and migrations were created under.
    label = "allmine"
    # The back office lists the audit trail under this heading.
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from allmine.core import checks  # noqa: F401  (registers the system checks)


class AllmineAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with Allmine's site (`allmine.core.site`)."""

    default = False
    default_site = "allmine.core.site.AllmineAdminSite"
