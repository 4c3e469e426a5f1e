"""The foundation every app builds on: errors and the envelope, ids, timestamps,
serializer fields, pagination, throttling, images and media, the audit trail, the
staff-command base and the back-office base.

It imports no app of the project (a test walks the imports to keep it so); the
apps import it, and the configuration (settings, urls) and the API-docs layer sit
on top of both.
"""
