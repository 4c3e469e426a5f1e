"""Moderators see the chat messages (and remove them), the superlikes and the
Signaling messages the server publishes."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_chatmessage", "view_superlike", "view_rtmmessage"]


def _permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(content_type__app_label="livestreams", codename__in=CODENAMES)


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name="Moderators").first()
    if group is not None:
        group.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name="Moderators").first()
    if group is not None:
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("livestreams", "0014_chat"),
        ("livestreams", "0008_moderators_see_reports_and_gifts"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
