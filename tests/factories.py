import factory

from accounts.models import User
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import Guest, LiveStream, LiveStreamType

DEFAULT_PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    name = factory.Faker("first_name")
    surname = factory.Faker("last_name")
    password = factory.django.Password(DEFAULT_PASSWORD)


class LiveStreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LiveStream

    title = factory.Sequence(lambda n: f"Stream {n}")
    live_stream_type = LiveStreamType.SOLO
    channel_name = factory.Sequence(lambda n: f"stream-{n}-{n % 65536:04x}")
    creator = factory.SubFactory(UserFactory)
    status = LiveStreamStatus.PREPARING


class GuestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guest

    live_stream = factory.SubFactory(LiveStreamFactory, live_stream_type=LiveStreamType.DUOSELF)
    user = factory.SubFactory(UserFactory)
    position = factory.Sequence(lambda n: n)
