"""The Allmine Live project. The Celery application is loaded with Django, so
that every `shared_task` of the apps belongs to it (`allmine.celery`)."""

from allmine.celery import app as celery_app

__all__ = ("celery_app",)
