"""Agora Cloud Recordings of recorded streams, each the state of a background job."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("livestreams", "0010_agora_kick_lifting"),
    ]

    operations = [
        migrations.CreateModel(
            name="Recording",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("channel_name", models.CharField(max_length=64, verbose_name="channel name")),
                ("uid", models.PositiveBigIntegerField(verbose_name="recorder uid")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("starting", "starting"),
                            ("recording", "recording"),
                            ("stopping", "stopping"),
                            ("uploading", "uploading"),
                            ("ready", "ready"),
                            ("cancelled", "cancelled"),
                            ("failed", "failed"),
                        ],
                        default="starting",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "resource_id",
                    models.CharField(blank=True, max_length=1000, verbose_name="resource id"),
                ),
                (
                    "resource_acquired_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="resource acquired at"
                    ),
                ),
                (
                    "sid",
                    models.CharField(
                        blank=True, db_index=True, max_length=128, verbose_name="recording id (sid)"
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                (
                    "next_attempt_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="next attempt at"
                    ),
                ),
                (
                    "claimed_until",
                    models.DateTimeField(blank=True, null=True, verbose_name="claimed until"),
                ),
                ("files", models.JSONField(blank=True, default=list, verbose_name="files")),
                (
                    "url",
                    models.URLField(blank=True, max_length=500, verbose_name="playable file URL"),
                ),
                (
                    "started_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="started at"),
                ),
                (
                    "confirmed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="confirmed at"),
                ),
                (
                    "stop_requested_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="stop requested at"),
                ),
                (
                    "stopped_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="stopped at"),
                ),
                ("ready_at", models.DateTimeField(blank=True, null=True, verbose_name="ready at")),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="created at"
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "live_stream",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="recordings",
                        to="livestreams.livestream",
                        verbose_name="live stream",
                    ),
                ),
            ],
            options={
                "verbose_name": "recording",
                "verbose_name_plural": "recordings",
                "ordering": ["-created_at"],
                "indexes": [
                    models.Index(fields=["status", "next_attempt_at"], name="recording_status_next")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "status__in",
                                [
                                    "starting",
                                    "recording",
                                    "stopping",
                                    "uploading",
                                    "ready",
                                    "cancelled",
                                    "failed",
                                ],
                            )
                        ),
                        name="recording_status_valid",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("status__in", ["starting", "recording"])),
                        fields=("live_stream",),
                        name="recording_one_running_per_stream",
                    ),
                ],
            },
        ),
    ]
