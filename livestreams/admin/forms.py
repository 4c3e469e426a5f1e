"""The forms of the stream admin: prices checked by the API's own rule, and the
ban action's form."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.selectors import users_by_username
from allmine.core.errors import ApiError
from allmine.core.forms import ReasonForm
from livestreams.models import BanAction, LiveStream
from livestreams.services.access import validate_price
from livestreams.services.moderation import ADMIN_EDITABLE_FIELDS


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


class BanForm(ReasonForm):
    username = forms.CharField(label=_("Username of the user to ban"), max_length=30)
    action_type = forms.ChoiceField(label=_("Ban"), choices=BanAction.choices)

    field_order = ["username", "action_type", "reason"]

    def clean_username(self):
        user = users_by_username(self.cleaned_data["username"]).first()
        if user is None:
            raise forms.ValidationError(gettext("No user has this username."))
        return user
