"""Query-string parameters read strictly. DRF reads a query like an HTML form,
where an empty value of an optional field (`status=`) counts as absent and a
repeated one (`status=a&status=b`) silently keeps the last. The API refuses both
(issue 10): what a client sends is either what it meant or a 400."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class QueryParametersSerializer(serializers.Serializer):
    """The base of every serializer of query parameters: each parameter given at
    most once (but a list, given by repeating it), and never empty unless its field
    allows a blank value."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "getlist"):
            errors = {}
            for name, field in self.fields.items():
                if isinstance(field, serializers.ListField | serializers.MultipleChoiceField):
                    continue  # a list is given by repeating its name
                values = data.getlist(name)
                if len(values) > 1:
                    errors[name] = [_("Give it once.")]
                elif values == [""] and not getattr(field, "allow_blank", False):
                    errors[name] = [_("Must not be empty; leave it out instead.")]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
