"""Planned dates within 2000-01-01..2100-01-01 (UTC), checked by the database too.

Before the API bounded them, a create could store a planned date PostgreSQL holds
but Python cannot read (past the year 9999 or before the year 1), which broke every
list meeting the row. Such dates, and any other outside the window, are cleared
first (updated in the database, never loaded into Python), so that the affected
streams can be read, cancelled or deleted again.
"""

import datetime

from django.conf import settings
from django.db import migrations, models
from django.db.models import Q

EARLIEST = datetime.datetime(2000, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
LATEST = datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)


def clear_unreadable_planned_dates(apps, schema_editor):
    LiveStream = apps.get_model("livestreams", "LiveStream")
    for field in ("planned_start_date", "planned_end_date"):
        outside = Q(**{f"{field}__lt": EARLIEST}) | Q(**{f"{field}__gt": LATEST})
        LiveStream.objects.filter(outside).update(**{field: None})


class Migration(migrations.Migration):
    dependencies = [
        ("livestreams", "0012_participant_last_seen"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(clear_unreadable_planned_dates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="livestream",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("planned_start_date__isnull", True),
                        models.Q(
                            ("planned_start_date__gte", EARLIEST),
                            ("planned_start_date__lte", LATEST),
                        ),
                        _connector="OR",
                    ),
                    models.Q(
                        ("planned_end_date__isnull", True),
                        models.Q(
                            ("planned_end_date__gte", EARLIEST),
                            ("planned_end_date__lte", LATEST),
                        ),
                        _connector="OR",
                    ),
                ),
                name="livestream_planned_dates_in_range",
            ),
        ),
    ]
