"""Gift types, managed by staff (an SVG checked strictly, a price, an active
flag; saved through `services.gifts.gift_type_save`, audited), and read-only
tables of the gifts sent and of the reminders."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from allmine.core.admin import AuditHistoryMixin, ReadOnlyAdminMixin
from allmine.core.errors import ApiError
from allmine.core.media import media_url
from allmine.core.svg import validate_svg
from livestreams.admin.forms import PriceFormMixin
from livestreams.models import Gift, GiftType, StreamReminder
from livestreams.services.gifts import gift_type_save


class GiftTypeForm(PriceFormMixin, forms.ModelForm):
    svg_file = forms.FileField(
        label=_("SVG image"),
        required=False,
        help_text=_(
            "A plain SVG drawing: no scripts, no event attributes, no links or images from "
            "elsewhere. Leave empty to keep the current one."
        ),
    )

    class Meta:
        model = GiftType
        fields = ("credit_amount", "is_active")

    def clean_credit_amount(self):
        value = self._checked("credit_amount", "creditAmount")
        if value is not None and value <= 0:
            raise forms.ValidationError(gettext("Must be greater than zero."))
        return value

    def clean_svg_file(self):
        upload = self.cleaned_data.get("svg_file")
        if upload is None:
            if self.instance._state.adding:
                raise forms.ValidationError(gettext("An SVG image is required."))
            return None
        if upload.size > settings.GIFT_SVG_MAX_BYTES:
            raise forms.ValidationError(
                gettext("The SVG may be at most %(limit)d bytes.")
                % {"limit": settings.GIFT_SVG_MAX_BYTES}
            )
        content = upload.read()
        try:
            validate_svg(content)
        except ApiError as exc:
            raise forms.ValidationError(exc.details[0].split(": ", 1)[-1]) from None
        return content


@admin.register(GiftType)
class GiftTypeAdmin(AuditHistoryMixin, admin.ModelAdmin):
    form = GiftTypeForm
    list_display = ("preview", "credit_amount", "is_active", "sent", "created_at", "updated_at")
    list_display_links = ("preview", "credit_amount")
    list_filter = ("is_active",)
    ordering = ("credit_amount", "created_at")
    readonly_fields = ("id", "preview", "sent", "created_at", "updated_at")
    fields = ("id", "preview", "svg_file", "credit_amount", "is_active", "sent", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(sent_n=Count("gifts"))

    def get_fields(self, request, obj=None):
        """A reader (who may not change the type) sees the image, not an upload
        field that would read "None"."""
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            fields = [field for field in fields if field != "svg_file"]
        return fields

    @admin.display(description=_("image"))
    def preview(self, obj):
        if not obj.svg:
            return "—"
        # An <img> never runs what an SVG carries; the upload was checked anyway.
        return format_html('<img class="gift-preview" src="{}" alt="">', media_url(obj.svg))

    @admin.display(description=_("times sent"), ordering="sent_n")
    def sent(self, obj):
        return getattr(obj, "sent_n", None) if obj.pk else None

    def has_delete_permission(self, request, obj=None):
        """A type once sent is never deleted (deactivate it instead)."""
        if obj is not None and Gift.objects.filter(gift_type=obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            saved = gift_type_save(
                actor=request.user,
                gift_type_id=obj.pk if change else None,
                credit_amount=form.cleaned_data["credit_amount"],
                is_active=form.cleaned_data["is_active"],
                svg=form.cleaned_data.get("svg_file"),
            )
        except ApiError as exc:
            self.message_user(request, "; ".join(exc.details), messages.ERROR)
            return
        obj.pk, obj.svg, obj.created_at = saved.pk, saved.svg, saved.created_at
        obj._state.adding = False


@admin.register(Gift)
class GiftAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "live_stream", "sender", "gift_type", "credit_amount")
    list_select_related = ("live_stream", "sender", "gift_type")
    search_fields = ("sender__username", "=live_stream__id")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(StreamReminder)
class StreamReminderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("live_stream", "user", "mode", "minute", "scheduled_for", "state", "fired_at")
    list_filter = ("state", "mode")
    list_select_related = ("live_stream", "user")
    search_fields = ("user__username", "=live_stream__id")
    show_full_result_count = False
