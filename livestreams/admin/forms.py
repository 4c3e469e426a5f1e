"""The forms of the stream admin: prices typed in the moderator's language and
checked by the API's own rule, planned dates within the API's window, and the ban
action's form (the user searched with the user list's autocomplete)."""

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError as DRFValidationError

from allmine.core.errors import ApiError
from allmine.core.fields import no_control_characters
from allmine.core.forms import LocalizedMoneyField, ReasonForm
from livestreams.models import BanAction, LiveStream, LiveStreamBan
from livestreams.services.access import validate_planned_date, validate_price
from livestreams.services.moderation import ADMIN_EDITABLE_FIELDS

User = get_user_model()


def _api_rule(check, *args, **kwargs) -> None:
    """Run a service's check and show its message on the form field."""
    try:
        check(*args, **kwargs)
    except ApiError as exc:
        raise forms.ValidationError(exc.details[0].split(": ", 1)[-1]) from None


def money_formfield(db_field, **kwargs) -> LocalizedMoneyField:
    """The form field of a money column in the back office: typed in the moderator's
    language (`7,50` in Turkish), never with a dropped separator
    (`allmine.core.forms.parse_typed_amount`). The stream admin's
    `formfield_for_dbfield` gives it to the change form and to the changelist's
    inline price boxes alike."""
    defaults = {
        "label": db_field.verbose_name.capitalize(),
        "required": not db_field.blank,
        "max_digits": db_field.max_digits,
        "decimal_places": db_field.decimal_places,
        "help_text": db_field.help_text,
        **kwargs,
    }
    return LocalizedMoneyField(**defaults)


class PriceFormMixin:
    """Prices are checked by the API's own rule (`validate_price`)."""

    cleaned_data: dict[str, Any]  # the form's

    def _checked(self, name: str, label: str):
        value = self.cleaned_data.get(name)
        _api_rule(validate_price, label, value)
        return value

    def clean_price(self):
        return self._checked("price", "price")

    def clean_replay_credit_price(self):
        return self._checked("replay_credit_price", "replayCreditPrice")


class LiveStreamAdminForm(PriceFormMixin, forms.ModelForm):
    class Meta:
        model = LiveStream
        fields = sorted(ADMIN_EDITABLE_FIELDS | {"price", "replay_credit_price"})

    def _typed_text(self, name: str):
        """The API's rule for text a person typed: no control characters."""
        value = self.cleaned_data.get(name)
        if value:
            try:
                no_control_characters(value)
            except DRFValidationError as exc:
                raise forms.ValidationError(str(cast(list[str], exc.detail)[0])) from None
        return value

    def clean_title(self):
        return self._typed_text("title")

    def clean_motivation(self):
        return self._typed_text("motivation")

    def _planned(self, name: str, label: str):
        value = self.cleaned_data.get(name)
        _api_rule(validate_planned_date, label, value, now=timezone.now())
        return value

    def clean_planned_start_date(self):
        return self._planned("planned_start_date", "plannedStartDate")

    def clean_planned_end_date(self):
        return self._planned("planned_end_date", "plannedEndDate")


class LiveStreamChangeForm(LiveStreamAdminForm):
    """The stream's page: an edit (a price too) may say why, for the audit trail."""

    change_reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Kept in the audit trail with your name and the time."),
    )


class BanForm(ReasonForm):
    """Who to ban (searched as the user list searches: username, e-mail, name,
    exact id), how, and why."""

    user = forms.ModelChoiceField(
        label=_("User to ban"),
        queryset=User.objects.all(),
        widget=AutocompleteSelect(LiveStreamBan._meta.get_field("user"), admin.site),
        error_messages={"invalid_choice": _("No such user: search by username or e-mail.")},
    )
    action_type = forms.ChoiceField(
        label=_("Ban type"), choices=BanAction.choices, widget=forms.RadioSelect
    )

    field_order = ["user", "action_type", "reason"]
