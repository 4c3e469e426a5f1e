"""The admin's forms, with values at and beyond their fields' edges, typed in English
and in Turkish: refused on the form with nothing changed, or saved and readable
through the API and the admin (tests/properties/conftest.py)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from hypothesis import event, given
from hypothesis import strategies as st

from accounts.models import CreditTransaction, User
from livestreams.models import LiveStream
from tests.api import assert_envelope
from tests.factories import UserFactory
from tests.properties import strategies as edge
from tests.properties.conftest import PROFILE, media_files
from tests.properties.support import Outcome, client_of, read_stream_everywhere

CHANGELIST = "/admin/livestreams/livestream/"
LANGUAGES = st.sampled_from(["en", "tr"])
NOW = timezone.now()


def typed_amounts(maximum: Decimal):
    """What a moderator may type in a money box, in either language."""
    decimals = st.decimals(min_value=0, max_value=maximum, places=2)
    return edge.mostly(
        st.one_of(decimals.map(str), decimals.map(lambda d: str(d).replace(".", ","))),
        edge.form_money(maximum),
    )


@pytest.fixture
def moderator(db):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    client = Client()
    client.force_login(user)
    return client


def _written_amount(typed: str, language: str) -> Decimal | None:
    text = typed.strip()
    return Decimal(text.replace(",", ".")) if text else None


@PROFILE
@given(
    language=LANGUAGES, price=typed_amounts(Decimal(10000)), replay=typed_amounts(Decimal(10000))
)
@pytest.mark.django_db
def test_the_changelist_price_boxes_refuse_cleanly_or_save_what_was_meant(
    world, moderator, admin_client, example, media_root, language, price, replay
):
    stream = world.other_active
    with example():
        outcome = Outcome(lambda: media_files(media_root))
        response = moderator.post(
            CHANGELIST,
            {
                "form-TOTAL_FORMS": "1",
                "form-INITIAL_FORMS": "1",
                "form-0-id": stream.pk,
                "form-0-price": price,
                "form-0-replay_credit_price": replay,
                "_save": "Save",
            },
            headers={"accept-language": language},
        )
        stored = LiveStream.objects.get(pk=stream.pk)
        if response.status_code == 302:
            event("saved")
            # Never a separator dropped: the amount stored is the amount typed.
            meant_price, meant_replay = (
                _written_amount(price, language),
                _written_amount(replay, language),
            )
            assert stored.price == (meant_price or None)
            assert stored.replay_credit_price == meant_replay
            shown = read_stream_everywhere(client_of(world.me), admin_client, stream.pk)
            assert shown["price"] == (float(meant_price) if meant_price else None) or (
                Decimal(str(shown["price"])) == meant_price
            )
        else:
            event("refused on the form")
            assert response.status_code == 200
            assert "errorlist" in response.content.decode()
            outcome.refused_in_the_admin()


def _change_form_data(admin_client, stream) -> dict:
    """Everything the stream's change page would post back unchanged."""
    page = admin_client.get(f"/admin/livestreams/livestream/{stream.pk}/change/")
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if hasattr(field, "fields"):  # the split date and time
            data[f"{name}_0"] = value.strftime("%Y-%m-%d") if value else ""
            data[f"{name}_1"] = value.strftime("%H:%M:%S") if value else ""
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = str(value)
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[f"{management.prefix}-{name}"] = management.initial.get(name, 0)
        for index, inline in enumerate(formset.formset.forms):
            data[f"{formset.formset.prefix}-{index}-id"] = inline.instance.pk
            data[f"{formset.formset.prefix}-{index}-{formset.formset.fk.name}"] = stream.pk
    return data


def admin_dates():
    """A date and a time as typed in the admin's two boxes: mostly within the
    planning window, else any date Python has, or none that exists."""
    soon = st.integers(-3000, 360).map(lambda days: (NOW + timedelta(days=days)).date().isoformat())
    times = st.times().map(lambda t: t.strftime("%H:%M:%S"))
    return edge.mostly(
        st.tuples(soon, times),
        st.one_of(
            st.tuples(st.dates().map(lambda d: d.isoformat()), times),
            st.tuples(
                st.sampled_from(["9999-12-31", "0001-01-01", "1999-12-31", "2026-13-01", ""]),
                st.just("23:59:59"),
            ),
        ),
    )


@PROFILE
@given(
    title=edge.mostly(st.text(min_size=1, max_size=80).filter(str.strip), edge.text(100)),
    motivation=edge.mostly(
        st.text(max_size=300).filter(lambda t: t.isprintable()), edge.text(1000)
    ),
    start=admin_dates(),
    funding_goal=typed_amounts(Decimal(1_000_000)),
    duration=st.one_of(st.integers(-5, 2000).map(str), st.just(""), st.just("x")),
)
@pytest.mark.django_db
def test_the_stream_change_form_refuses_cleanly_or_saves_what_is_readable(
    world, admin_client, example, media_root, title, motivation, start, funding_goal, duration
):
    stream = world.other_scheduled
    with example():
        data = _change_form_data(admin_client, stream)
        data.update(
            {
                "title": title,
                "motivation": motivation,
                "planned_start_date_0": start[0],
                "planned_start_date_1": start[1],
                "planned_end_date_0": "",
                "planned_end_date_1": "",
                "funding_goal": funding_goal,
                "duration_goal": duration,
            }
        )
        outcome = Outcome(lambda: media_files(media_root))
        response = admin_client.post(f"/admin/livestreams/livestream/{stream.pk}/change/", data)
        if response.status_code == 302:
            event("saved")
            shown = read_stream_everywhere(client_of(world.me), admin_client, stream.pk)
            assert shown["title"] == LiveStream.objects.get(pk=stream.pk).title
        else:
            errors = response.context["adminform"].form.errors if response.context else {}
            event(f"refused on the form: {sorted(errors)}")
            assert response.status_code == 200
            outcome.refused_in_the_admin()


@PROFILE
@given(language=LANGUAGES, amount=typed_amounts(Decimal(10000)), negative=st.booleans())
@pytest.mark.django_db
def test_a_credit_adjustment_refuses_cleanly_or_lands_on_the_ledger(
    world, admin_client, example, media_root, language, amount, negative
):
    typed = f"-{amount}" if negative and amount and amount[0] not in "-+" else amount
    user = world.bystander
    with example():
        balance = User.objects.get(pk=user.pk).credit_balance
        entries = CreditTransaction.objects.filter(user=user).count()
        outcome = Outcome(lambda: media_files(media_root))
        response = admin_client.post(
            "/admin/accounts/user/",
            {
                "action": "adjust_credits",
                "_selected_action": [user.pk],
                "post": "yes",
                "key": "",
                "amount": typed,
                "reason": "Property test",
            },
            headers={"accept-language": language},
        )
        after = User.objects.get(pk=user.pk).credit_balance
        if CreditTransaction.objects.filter(user=user).count() == entries + 1:
            event("adjusted")
            entry = CreditTransaction.objects.filter(user=user).latest("created_at")
            assert after == balance + entry.amount >= 0
            assert entry.amount == Decimal(typed.strip().replace(",", "."))
            ledger = assert_envelope(client_of(user).get("/api/v1/users/me/transactions"), 200)
            assert ledger["list"][0]["id"] == entry.pk
            assert admin_client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200
            assert admin_client.get("/admin/accounts/credittransaction/").status_code == 200
        else:
            event("refused")
            assert response.status_code in (200, 302)
            outcome.refused_in_the_admin()
