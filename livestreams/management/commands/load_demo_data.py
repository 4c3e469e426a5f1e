"""Demo data for `make run`: users, a profile photo, streams in several states,
and a live room with viewers, chat messages, a superlike, gifts, a reminder and
an open report, all made
through the same services as the API.

Idempotent: running it again finds what it made before and adds only what is
missing. It refuses to run in production.
"""

import io
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import ProfilePhoto, User
from accounts.services.credits import credits_grant
from accounts.services.photos import profile_photo_set
from livestreams.lifecycle import LIVE
from livestreams.models import (
    ChatMessage,
    Gift,
    GiftType,
    LiveStream,
    LiveStreamType,
    Participant,
    StreamReminder,
    StreamReport,
    Superlike,
)
from livestreams.services.audience import livestream_join_as_audience
from livestreams.services.broadcasting import livestream_join_as_creator
from livestreams.services.chat import chat_message_send, superlike_send
from livestreams.services.creation import livestream_create
from livestreams.services.gifts import gift_send, gift_type_save
from livestreams.services.moderation import livestream_cancel, livestream_end
from livestreams.services.recording import livestream_recording_ready
from livestreams.services.reminders import reminder_set
from livestreams.services.reports import report_create

DEMO_PASSWORD = "allmine-demo-2026"  # demo data only: the command refuses production

DEMO_USERS = [
    # username, name, surname, role shown in the summary
    ("demo_creator", "Deniz", "Yılmaz", "creator (has a profile photo)"),
    ("demo_guest", "Ece", "Kaya", "invited guest"),
    ("demo_viewer", "Mert", "Demir", "viewer"),
    ("demo_host", "Selin", "Aydın", "creator of the active stream"),
    (
        "demo_fan",
        "Can",
        "Öztürk",
        "viewer of the active stream (chats, sends gifts and a superlike, reported it)",
    ),
]
ADMIN_USERNAME = "admin"
MODERATOR_USERNAME = "demo_moderator"
LIVE_TITLE = "Canlı oyun gecesi"
FUNDED_TITLE = "Yeni ürün tanıtımı"
# The live room's chat: (who, what), the oldest first.
DEMO_CHAT = [
    ("demo_host", "Hoş geldiniz! Bu akşam yeni sezonu oynuyoruz 🎮"),
    ("demo_fan", "Selam herkese! Ses çok net geliyor."),
    ("demo_viewer", "İlk kez izliyorum, harika görünüyor."),
]


def _gift_svg(colour: str, shape: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="{shape}" '
        f'fill="{colour}"/></svg>'
    ).encode()


# Price in credits, colour and shape of the demo's gift types.
DEMO_GIFTS = [
    ("1", "#e11d48", "M12 21l-1-1C5 15 2 12 2 8a5 5 0 0 1 10-2 5 5 0 0 1 10 2c0 4-3 7-9 12z"),
    ("5", "#f59e0b", "M12 2l3 7h7l-6 4 2 8-6-5-6 5 2-8-6-4h7z"),
    ("25", "#7c3aed", "M3 18h18l-2-10-5 4-2-7-2 7-5-4z"),
]


def _portrait() -> SimpleUploadedFile:
    image = Image.new("RGB", (256, 256), (245, 158, 66))
    draw = ImageDraw.Draw(image)
    draw.ellipse((68, 40, 188, 160), fill=(255, 224, 189))
    draw.rectangle((48, 170, 208, 256), fill=(52, 73, 94))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return SimpleUploadedFile("demo.jpg", buffer.getvalue(), content_type="image/jpeg")


class Command(BaseCommand):
    help = "Load demo users and live streams (idempotent; not in production)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded in production.")
        created = 0
        with transaction.atomic():
            users = {}
            for username, name, surname, _role in DEMO_USERS:
                users[username], was_created = self._user(username, name, surname)
                created += was_created
            _admin, was_created = self._user(ADMIN_USERNAME, "Admin", "Allmine", superuser=True)
            created += was_created
            moderator, was_created = self._user(MODERATOR_USERNAME, "Mod", "Erator")
            if was_created:
                moderator.is_staff = True
                moderator.save(update_fields=["is_staff"])
                moderator.groups.add(Group.objects.get(name="Moderators"))
            created += was_created
            created += self._streams(users)
        if not ProfilePhoto.objects.filter(user=users["demo_creator"]).exists():
            profile_photo_set(user=users["demo_creator"], upload=_portrait())
            created += 1
        created += self._room(users, _admin)

        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} objects created)."))
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for username, _name, _surname, role in DEMO_USERS:
            self.stdout.write(f"  {username:<14} {role}  _id={users[username].pk}")
        self.stdout.write(f"  {MODERATOR_USERNAME:<14} moderator (staff, in the Moderators group)")
        self.stdout.write(f"  {ADMIN_USERNAME:<14} superuser, for the admin at /admin/")

    def _user(self, username, name, surname, superuser=False) -> tuple[User, bool]:
        user = User.objects.filter(username=username).first()
        if user is not None:
            return user, False
        manager = User.objects.create_superuser if superuser else User.objects.create_user
        user = manager(
            username=username,
            email=f"{username}@allmine.example",
            password=DEMO_PASSWORD,
            name=name,
            surname=surname,
        )
        return user, True

    def _streams(self, users) -> int:
        creator, guest, host = users["demo_creator"], users["demo_guest"], users["demo_host"]
        now = timezone.now()
        created = 0

        def ensure(owner, title, **fields) -> LiveStream | None:
            if LiveStream.objects.filter(creator=owner, title=title).exists():
                return None
            return livestream_create(creator=owner, title=title, **fields)

        # A scheduled duo stream with a funding goal, starting tomorrow.
        if ensure(
            creator,
            FUNDED_TITLE,
            live_stream_type=LiveStreamType.DUOSELF,
            guests=[guest.pk],
            interest="technology",
            planned_start_date=now + timedelta(days=1),
            planned_end_date=now + timedelta(days=1, hours=1),
            funding_goal=Decimal("1000"),
            motivation="Yeni ürünümüzü birlikte tanıtıyoruz.",
        ):
            created += 1

        # An ended, recorded stream whose replay can be rented.
        stream = ensure(
            creator,
            "Dünkü akustik konser",
            interest="music",
            recording=True,
            is_active_replay_on_creator_profile=True,
            replay_credit_price=Decimal("50"),
            price=Decimal("9.99"),
        )
        if stream:
            livestream_join_as_creator(user=creator, live_stream_id=stream.pk)
            livestream_end(actor=creator, live_stream_id=stream.pk)
            livestream_recording_ready(
                live_stream_id=stream.pk,
                url="https://cdn.allmine.example/replays/akustik-konser.mp4",
            )
            created += 1

        # A stream its creator cancelled.
        stream = ensure(
            creator,
            "İptal edilen soru-cevap",
            interest="talk",
            planned_start_date=now + timedelta(days=3),
        )
        if stream:
            livestream_cancel(actor=creator, live_stream_id=stream.pk)
            created += 1

        # Another creator's stream that is live now.
        stream = ensure(host, LIVE_TITLE, interest="gaming")
        if stream:
            livestream_join_as_creator(user=host, live_stream_id=stream.pk)
            created += 1
        return created

    def _room(self, users, admin) -> int:
        """The live stream's room: gift types, two viewers, chat messages, a
        superlike, gifts, an open report, and a reminder of the funded stream.
        Each part is made once."""
        created = 0
        if not GiftType.objects.exists():
            for amount, colour, shape in DEMO_GIFTS:
                gift_type_save(
                    actor=admin, credit_amount=Decimal(amount), svg=_gift_svg(colour, shape)
                )
                created += 1
        live = LiveStream.objects.filter(creator=users["demo_host"], title=LIVE_TITLE).first()
        if live is None or live.status not in LIVE:
            return created
        fan, viewer = users["demo_fan"], users["demo_viewer"]
        credits_grant(
            user=fan, amount=Decimal("100"), reason="Demo credits", idempotency_key="demo-fan-100"
        )
        for user in (fan, viewer):
            if not Participant.objects.filter(live_stream=live, user=user).exists():
                livestream_join_as_audience(user=user, live_stream_id=live.pk)
                created += 1
        if not ChatMessage.objects.filter(live_stream=live).exists():
            for username, content in DEMO_CHAT:
                chat_message_send(user=users[username], live_stream_id=live.pk, content=content)
                created += 1
        if not Superlike.objects.filter(live_stream=live).exists():
            superlike_send(user=fan, live_stream_id=live.pk)
            created += 1
        if not Gift.objects.filter(live_stream=live).exists():
            for gift_type in GiftType.objects.filter(is_active=True).order_by("credit_amount")[:2]:
                gift_send(user=fan, live_stream_id=live.pk, gift_type_id=gift_type.pk)
                created += 1
        if not StreamReport.objects.filter(live_stream=live).exists():
            report_create(
                user=fan,
                live_stream_id=live.pk,
                type="spam",
                description="Aynı bağlantıyı sohbete tekrar tekrar yazıyorlar.",
            )
            created += 1
        funded = LiveStream.objects.filter(
            title=FUNDED_TITLE, creator=users["demo_creator"]
        ).first()
        if funded is not None and not StreamReminder.objects.filter(live_stream=funded).exists():
            reminder_set(user=viewer, live_stream_id=funded.pk, minute=15)
            created += 1
        return created
