from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "allmine.core"
    # The label the audit trail's table and migrations were created under.
    label = "allmine"
    verbose_name = "Allmine"

    def ready(self) -> None:
        from allmine.core import checks  # noqa: F401  (registers the system checks)
