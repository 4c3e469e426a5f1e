"""The OpenAPI schema (drf-spectacular): every response described inside the envelope."""

from drf_spectacular.openapi import AutoSchema


class EnvelopeAutoSchema(AutoSchema):
    pass


def postprocess_schema(result, generator, request, public):
    return result
