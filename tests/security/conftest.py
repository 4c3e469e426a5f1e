"""A small world of users, streams and bans for the fuzzer and the hostile-input
table: ids that exist, owned by the caller and by somebody else, in every state
that unlocks an operation (active, scheduled with a funding goal, ended and
rentable, a duo stream the caller is invited to, bans on both sides)."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import User
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    BanAction,
    GiftType,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
)
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory
from tests.helpers import grant

RECORDING_URL = "https://cdn.example.com/recordings/replay.mp4"
CALLER_CREDITS = Decimal("1000")


@dataclass
class World:
    me: User  # the caller
    other: User  # another creator
    victim: User  # banned by the caller
    bystander: User  # banned by the other creator
    deactivated: User  # an account a moderator deactivated
    newcomer: User  # no stream yet: its creates succeed
    my_active: LiveStream
    my_scheduled: LiveStream
    my_ended: LiveStream
    my_ban: LiveStreamBan  # on the caller's active stream
    other_active: LiveStream  # paid, active
    other_scheduled: LiveStream  # scheduled, with a funding goal
    other_ended: LiveStream  # ended, recorded, rentable
    other_duo: LiveStream  # scheduled duo stream; the caller is its invited guest
    duo_live: LiveStream  # the victim's active duo stream; the caller is its invited guest
    other_ban: LiveStreamBan
    gift_type: GiftType  # active, 2 credits

    @property
    def streams(self) -> list[LiveStream]:
        return [
            self.my_active,
            self.my_scheduled,
            self.my_ended,
            self.other_active,
            self.other_scheduled,
            self.other_ended,
            self.other_duo,
            self.duo_live,
        ]

    @property
    def users(self) -> list[User]:
        return [self.me, self.other, self.victim, self.bystander, self.newcomer]

    @property
    def bans(self) -> list[LiveStreamBan]:
        return [self.my_ban, self.other_ban]


def build_world() -> World:
    now = timezone.now()
    me, other, victim, bystander = (UserFactory() for _ in range(4))
    deactivated = UserFactory(is_active=False)
    newcomer = UserFactory()
    grant(me, CALLER_CREDITS)
    grant(other, "50")

    my_active = LiveStreamFactory(
        creator=me,
        status=LiveStreamStatus.ACTIVE,
        started_at=now - timedelta(minutes=5),
        host_joined_at=now - timedelta(minutes=5),
        host_present=True,
    )
    start = now + timedelta(hours=2)
    my_scheduled = LiveStreamFactory(
        creator=me,
        status=LiveStreamStatus.SCHEDULED,
        planned_start_date=start,
        planned_end_date=start + timedelta(hours=1),
    )
    my_ended = LiveStreamFactory(
        creator=me,
        status=LiveStreamStatus.ENDED,
        started_at=now - timedelta(hours=3),
        ended_at=now - timedelta(hours=2),
    )
    other_active = LiveStreamFactory(
        creator=other,
        status=LiveStreamStatus.ACTIVE,
        started_at=now - timedelta(minutes=5),
        price=Decimal("5"),
    )
    other_scheduled = LiveStreamFactory(
        creator=other,
        status=LiveStreamStatus.SCHEDULED,
        planned_start_date=start,
        planned_end_date=start + timedelta(hours=1),
        funding_goal=Decimal("100"),
    )
    other_ended = LiveStreamFactory(
        creator=other,
        status=LiveStreamStatus.ENDED,
        started_at=now - timedelta(hours=2),
        ended_at=now - timedelta(hours=1),
        recording=True,
        recording_url=RECORDING_URL,
        is_active_replay_on_creator_profile=True,
        replay_credit_price=Decimal("3"),
    )
    other_duo = LiveStreamFactory(
        creator=other,
        live_stream_type=LiveStreamType.DUOSELF,
        status=LiveStreamStatus.SCHEDULED,
        planned_start_date=start,
        planned_end_date=start + timedelta(hours=1),
    )
    GuestFactory(live_stream=other_duo, user=me, position=0)
    duo_live = LiveStreamFactory(
        creator=victim,
        live_stream_type=LiveStreamType.DUOSELF,
        status=LiveStreamStatus.ACTIVE,
        started_at=now - timedelta(minutes=5),
        host_joined_at=now - timedelta(minutes=5),
        host_present=True,
    )
    GuestFactory(live_stream=duo_live, user=me, position=0)
    my_ban = LiveStreamBan.objects.create(
        live_stream=my_active, user=victim, action_type=BanAction.BLOCK, created_by=me
    )
    other_ban = LiveStreamBan.objects.create(
        live_stream=other_scheduled,
        user=bystander,
        action_type=BanAction.CHAT_ONLY,
        created_by=other,
    )
    gift_type = GiftType.objects.create(credit_amount=Decimal("2"), svg="gifts/world.svg")
    return World(
        gift_type=gift_type,
        me=me,
        other=other,
        victim=victim,
        bystander=bystander,
        deactivated=deactivated,
        newcomer=newcomer,
        my_active=my_active,
        my_scheduled=my_scheduled,
        my_ended=my_ended,
        my_ban=my_ban,
        other_active=other_active,
        other_scheduled=other_scheduled,
        other_ended=other_ended,
        other_duo=other_duo,
        duo_live=duo_live,
        other_ban=other_ban,
    )


def access_token(user) -> str:
    from rest_framework_simplejwt.tokens import AccessToken

    return str(AccessToken.for_user(user))


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture(scope="session")
def production_gunicorn():
    """gunicorn with gunicorn.conf.py and production settings (SQLite), for the tests
    of what happens before Django's views (tests/security/servers.py)."""
    from tests.security.servers import Gunicorn

    server = Gunicorn()
    yield server
    server.stop()
