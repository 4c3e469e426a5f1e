"""The Moderators group and its permissions (issue 4)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODERATOR_PERMISSIONS = {
    "livestreams": [
        "view_livestream",
        "moderate_livestream",
        "change_livestream_price",
        "view_guest",
        "view_participant",
        "view_livestreamban",
        "view_contribution",
        "view_replayaccess",
        "view_minicrowdfunding",
    ],
    "accounts": ["view_user", "view_profilephoto", "view_credittransaction"],
    "allmine": ["view_auditentry"],
}


def create_moderators(apps, schema_editor):
    # Permissions are normally created after all migrations have run; make sure
    # they exist now so that the group can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name="Moderators")
    for app_label, codenames in MODERATOR_PERMISSIONS.items():
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )


def remove_moderators(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Moderators").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("livestreams", "0002_lifecycle"),
        ("accounts", "0002_credittransaction"),
        ("allmine", "0001_audit"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_moderators, remove_moderators)]
