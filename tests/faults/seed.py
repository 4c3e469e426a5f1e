"""Seed data for the fault tests, written through the app's own services.

Run as `python -m tests.faults.seed` with the server's environment (the same
SECRET_KEY, so that the access tokens printed here are valid for it); prints
one JSON object: the users (id, username, access token), a paid active stream
and a scheduled stream with a funding goal.
"""

import json
from datetime import timedelta
from decimal import Decimal

import django

PASSWORD = "a-long-password-42"
CREDITS = Decimal("100")
PRICE = Decimal("10")
FUNDING_GOAL = Decimal("1000")
# Who is who: (name, credits). Each test uses its own users, so that no test
# depends on what another one did. Only the user who signs in gets a password
# (hashing one costs a good part of a second in production).
USERS = [
    ("host", 0),
    ("planner", 0),
    ("viewer", CREDITS),
    ("redis", CREDITS),
    *((f"payer{n}", CREDITS) for n in range(1, 5)),
    *((f"backer{n}", CREDITS) for n in range(1, 5)),
    *((f"creator{n}", 0) for n in range(1, 5)),
]


def main() -> None:
    django.setup()
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from accounts.services.credits import credits_grant
    from livestreams.services.broadcasting import livestream_join_as_creator
    from livestreams.services.creation import livestream_create

    users = {}
    for name, credits in USERS:
        user = User.objects.create_user(
            username=f"fault-{name}",
            email=f"fault-{name}@example.com",
            password=PASSWORD if name == "redis" else None,
        )
        if credits:
            credits_grant(user=user, amount=credits, reason="fault tests")
        users[name] = {
            "id": user.pk,
            "username": user.username,
            "token": str(AccessToken.for_user(user)),
            "user": user,
        }

    paid = livestream_create(creator=users["host"]["user"], title="Paid fault stream", price=PRICE)
    livestream_join_as_creator(user=users["host"]["user"], live_stream_id=paid.pk)
    scheduled = livestream_create(
        creator=users["planner"]["user"],
        title="Scheduled fault stream",
        planned_start_date=timezone.now() + timedelta(days=1),
        funding_goal=FUNDING_GOAL,
    )

    for entry in users.values():
        del entry["user"]
    print(
        json.dumps(
            {
                "password": PASSWORD,
                "credits": str(CREDITS),
                "users": users,
                "paidStream": {"id": paid.pk, "price": str(PRICE)},
                "scheduledStream": {"id": scheduled.pk, "fundingGoal": str(FUNDING_GOAL)},
            }
        )
    )


if __name__ == "__main__":
    main()
