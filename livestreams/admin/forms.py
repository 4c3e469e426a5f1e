"""The forms of the stream admin: prices checked by the API's own rule, and the
ban action's form (the user searched with the user list's autocomplete)."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from allmine.core.errors import ApiError
from allmine.core.forms import ReasonForm
from livestreams.models import BanAction, LiveStream, LiveStreamBan
from livestreams.services.access import validate_price
from livestreams.services.moderation import ADMIN_EDITABLE_FIELDS

User = get_user_model()


class PriceFormMixin:
    """Prices are checked by the API's own rule (`validate_price`)."""

    def _checked(self, name: str, label: str):
        value = self.cleaned_data.get(name)
        try:
            validate_price(label, value)
        except ApiError as exc:
            raise forms.ValidationError(exc.details[0].split(": ", 1)[-1]) from None
        return value

    def clean_price(self):
        return self._checked("price", "price")

    def clean_replay_credit_price(self):
        return self._checked("replay_credit_price", "replayCreditPrice")


class LiveStreamAdminForm(PriceFormMixin, forms.ModelForm):
    class Meta:
        model = LiveStream
        fields = sorted(ADMIN_EDITABLE_FIELDS | {"price", "replay_credit_price"})


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
