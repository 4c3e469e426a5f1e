import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from allmine.core.errors import ApiError
from allmine.core.ids import is_object_id
from livestreams.api.serializers import CredentialsSerializer
from livestreams.services.audience import livestream_renew_token


class Command(BaseCommand):
    help = (
        "Print the Agora credentials a user would get now for a stream (their current "
        "role, with every check of a join), for debugging a client. Changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--stream", required=True, help="The live stream's id.")
        parser.add_argument("--user", required=True, help="The user's id or username.")

    def handle(self, *args, stream, user, **options):
        if not is_object_id(stream):
            raise CommandError(f"--stream must be a 24-character hexadecimal id, not {stream!r}.")
        User = get_user_model()
        found = User.objects.filter(pk=user).first() if is_object_id(user) else None
        found = found or User.objects.filter(username__iexact=user).first()
        if found is None:
            raise CommandError(f"No user has the id or username {user!r}.")
        if not found.is_active:
            raise CommandError(f"{found.username} is deactivated: no token is issued.")
        try:
            credentials = livestream_renew_token(
                user=found, live_stream_id=stream, sign_of_life=False
            )
        except ApiError as exc:
            raise CommandError("; ".join(exc.details) or type(exc).__name__) from None
        self.stdout.write(json.dumps(CredentialsSerializer(credentials).data, indent=2))
