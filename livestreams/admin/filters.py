"""The stream list's filters beyond plain fields."""

from django.conf import settings
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from livestreams.lifecycle import AccessType
from livestreams.models import interest_label


class AccessTypeFilter(admin.SimpleListFilter):
    title = _("access")
    parameter_name = "access"

    def lookups(self, request, model_admin):
        return AccessType.choices

    def queryset(self, request, queryset):
        if self.value() in AccessType.values:
            return queryset.filter(AccessType.filter(self.value()))
        return queryset


class InterestFilter(admin.SimpleListFilter):
    title = _("interest")
    parameter_name = "interest"

    def lookups(self, request, model_admin):
        return [(value, interest_label(value)) for value in settings.LIVESTREAM_INTERESTS]

    def queryset(self, request, queryset):
        return queryset.filter(interest=self.value()) if self.value() else queryset


class FundingGoalFilter(admin.SimpleListFilter):
    title = _("funding goal")
    parameter_name = "funding"

    def lookups(self, request, model_admin):
        return [("yes", _("has a funding goal")), ("no", _("no funding goal"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(funding_goal__gt=0)
        if self.value() == "no":
            return queryset.filter(Q(funding_goal__isnull=True) | Q(funding_goal=0))
        return queryset


class RemovedFilter(admin.SimpleListFilter):
    title = _("removed")
    parameter_name = "removed"

    def lookups(self, request, model_admin):
        return [("no", _("not removed")), ("yes", _("removed"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset
