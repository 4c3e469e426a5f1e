"""A viewer's last sign of life (join, renewal, Agora event, Agora's channel
list): presence expires AGORA_PRESENCE_TIMEOUT after it. Existing rows start
from their last join."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def from_last_join(apps, schema_editor):
    Participant = apps.get_model("livestreams", "Participant")
    Participant.objects.update(last_seen_at=F("last_joined_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("livestreams", "0011_recordings"),
    ]

    operations = [
        migrations.AddField(
            model_name="participant",
            name="last_seen_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, verbose_name="last seen at"
            ),
        ),
        migrations.RunPython(from_last_join, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(
                condition=models.Q(("is_present", True)),
                fields=["last_seen_at"],
                name="participant_present_seen",
            ),
        ),
    ]
