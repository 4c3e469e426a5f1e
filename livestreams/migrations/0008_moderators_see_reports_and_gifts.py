"""Moderators see the reports' queue, the gifts, gift types and reminders."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_streamreport", "view_gift", "view_gifttype", "view_streamreminder"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Moderators").first()
    if group is not None:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="livestreams", codename__in=CODENAMES
            )
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Moderators").first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="livestreams", codename__in=CODENAMES
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("livestreams", "0007_gifts_reports_reminders"),
        ("livestreams", "0003_moderators_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
