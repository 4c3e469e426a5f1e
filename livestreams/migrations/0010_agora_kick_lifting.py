"""Kicks done Agora's way: a ban's kick knows its ban (lifting the ban deletes
the rule), whether an unanswered POST may have created the rule, and when it was
lifted; one-time kicks (0 minutes) of users Agora reports as abnormal; recording
notices."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("livestreams", "0009_agora_client_seq_unsigned"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="agorakick",
            name="agorakick_status_valid",
        ),
        migrations.RemoveConstraint(
            model_name="agorakick",
            name="agorakick_minutes_positive",
        ),
        migrations.AddField(
            model_name="agorakick",
            name="ban",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="agora_kicks",
                to="livestreams.livestreamban",
                verbose_name="ban",
            ),
        ),
        migrations.AddField(
            model_name="agorakick",
            name="lift_requested_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="ban lifted at"),
        ),
        migrations.AddField(
            model_name="agorakick",
            name="lifted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="rule deleted at"),
        ),
        migrations.AddField(
            model_name="agorakick",
            name="rule_maybe_created",
            field=models.BooleanField(default=False, verbose_name="rule may exist"),
        ),
        migrations.AlterField(
            model_name="agorakick",
            name="reason",
            field=models.CharField(
                choices=[
                    ("ban", "user banned"),
                    ("end", "stream ended"),
                    ("abnormal", "abnormal user (Agora)"),
                ],
                max_length=8,
                verbose_name="reason",
            ),
        ),
        migrations.AlterField(
            model_name="agorakick",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "pending"),
                    ("done", "done"),
                    ("failed", "failed (retried)"),
                    ("lifting", "lifting"),
                    ("lifted", "lifted"),
                    ("cancelled", "cancelled"),
                ],
                default="pending",
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="agoranotice",
            name="outcome",
            field=models.CharField(
                blank=True,
                choices=[
                    ("applied", "applied"),
                    ("recorded", "recorded (nothing to change)"),
                    ("stale", "older than what was already applied"),
                    ("unknown_event", "unknown event type"),
                    ("unknown_channel", "unknown channel"),
                    ("unknown_user", "unknown uid"),
                    ("unknown_recording", "unknown recording"),
                    ("not_in_stream", "user has no role in the stream"),
                    ("stream_not_live", "stream not live"),
                    ("banned", "user is banned from the stream"),
                ],
                max_length=24,
                verbose_name="outcome",
            ),
        ),
        migrations.AddConstraint(
            model_name="agorakick",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status__in", ["pending", "done", "failed", "lifting", "lifted", "cancelled"])
                ),
                name="agorakick_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="agorakick",
            constraint=models.CheckConstraint(
                condition=models.Q(("minutes__gte", 0), ("minutes__lte", 1440)),
                name="agorakick_minutes_range",
            ),
        ),
    ]
