from django.apps import AppConfig


class AllmineConfig(AppConfig):
    name = "allmine"
    verbose_name = "Allmine"

    def ready(self) -> None:
        from allmine import checks  # noqa: F401  (registers the system checks)
