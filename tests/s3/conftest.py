"""S3-compatible object storage for the tests: moto's server mode, started in this
process on a free loopback port, stands in for S3 over real HTTP.

`moto_s3` (session): the server and a boto3 client; one bucket, readable by
anyone (as a media bucket behind a public or CDN URL is).
`s3_storage` (per test): Django's default storage pointed at that bucket through
django-storages, the bucket emptied before and after the test.
`s3_cdn_storage`: the same, with the media served from https://cdn.test.
"""

import json
import logging
from dataclasses import dataclass

import boto3
import pytest
from django.core.files.storage import default_storage, storages
from django.utils.functional import empty
from moto.server import ThreadedMotoServer
from storages.backends.s3 import S3Storage

BUCKET = "allmine-media-test"
REGION = "us-east-1"
CDN_DOMAIN = "cdn.test"


@dataclass
class MotoS3:
    endpoint: str
    client: object  # a boto3 S3 client

    def keys(self, bucket: str = BUCKET) -> set[str]:
        """Every object key in the bucket."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", ())}

    def body(self, key: str, bucket: str = BUCKET) -> bytes:
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def empty(self, bucket: str = BUCKET) -> None:
        keys = self.keys(bucket)
        if keys:
            self.client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys]}
            )

    def url(self, key: str, bucket: str = BUCKET) -> str:
        """Where the object is served from without a CDN (path-style)."""
        return f"{self.endpoint}/{bucket}/{key}"


def storage_options(endpoint: str, **overrides) -> dict:
    """The OPTIONS settings.py builds from AWS_* with STORAGE_BACKEND=s3."""
    return {
        "bucket_name": BUCKET,
        "endpoint_url": endpoint,
        "region_name": REGION,
        "access_key": "testing",
        "secret_key": "testing",
        "custom_domain": None,
        "url_protocol": "https:",
        "location": "",
        "querystring_auth": False,
        "file_overwrite": False,
        "default_acl": None,
        **overrides,
    }


@pytest.fixture(scope="session")
def moto_s3():
    # One line per request at INFO would drown the test output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    assert host == "127.0.0.1" and port
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
    client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(public_read))
    try:
        yield MotoS3(endpoint=endpoint, client=client)
    finally:
        server.stop()


class S3Media:
    """The S3 storage of one test; `configure(**options)` changes its OPTIONS."""

    def __init__(self, settings, moto: MotoS3):
        self._settings = settings
        self.moto = moto
        self.endpoint = moto.endpoint

    def configure(self, **overrides) -> S3Storage:
        self._settings.STORAGES = {
            **self._settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": storage_options(self.moto.endpoint, **overrides),
            },
        }
        # Storages are cached; changing STORAGES (Django's setting_changed handler)
        # must have dropped the cached default, so that the app sees this one.
        assert default_storage._wrapped is empty
        storage = storages["default"]
        assert default_storage.bucket_name == storage.bucket_name  # the lazy proxy resolves
        assert default_storage._wrapped is storage
        assert isinstance(storage, S3Storage)
        assert storage.bucket_name == overrides.get("bucket_name", BUCKET)
        assert storage.custom_domain == overrides.get("custom_domain")
        return storage

    def keys(self) -> set[str]:
        return self.moto.keys()

    def body(self, key: str) -> bytes:
        return self.moto.body(key)

    def url(self, key: str) -> str:
        return self.moto.url(key)


@pytest.fixture
def s3_storage(settings, moto_s3):
    moto_s3.empty()
    media = S3Media(settings, moto_s3)
    media.configure()
    yield media
    moto_s3.empty()


@pytest.fixture
def s3_cdn_storage(s3_storage):
    s3_storage.configure(custom_domain=CDN_DOMAIN)
    return s3_storage
