"""Rendering objects with DRF serializers on the hottest endpoints."""

import threading
from typing import Any

from rest_framework import serializers

_bound = threading.local()


def represent(serializer_class: type[serializers.BaseSerializer], instance: Any) -> Any:
    """What `serializer_class(instance).data` gives, rendered by one instance of
    the serializer per thread.

    DRF binds a serializer's fields anew for every serializer made (a deep copy of
    the declared fields, nested serializers included). For the small answers of
    the endpoints a crowd calls (a join, a token renewal, a viewer-count poll)
    that copy cost more CPU than the rendering itself. A bound serializer's
    `to_representation` keeps nothing between calls, so one per thread serves
    every request of that thread.

    Only for output serializers that read no context (this one is made without
    any) and keep no state of their own between calls; never for input: a
    serializer validating data holds it (`initial_data`, read by some fields)."""
    made: dict[type, serializers.BaseSerializer] = _bound.__dict__.setdefault("serializers", {})
    serializer = made.get(serializer_class)
    if serializer is None:
        serializer = made[serializer_class] = serializer_class()
    return serializer.to_representation(instance)
