"""An S3-compatible server on 127.0.0.1 (moto) with one bucket, for caches in object storage.

Every process of a run — spawned workers, Ray actors started after :meth:`S3TestServer.start` — must
reach the same bucket, so the server publishes its endpoint and fake credentials in the environment
(``AWS_ENDPOINT_URL``, read by botocore when a client is made) and :meth:`stop` puts the environment
back. Needs ``moto[server]``, ``boto3`` and ``s3fs`` (the dev extra).
"""

from __future__ import annotations

import logging
import os
from typing import Any

_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


class S3TestServer:
    """``with S3TestServer() as s3: Pipeline(..., cache_dir=s3.url("cache"))``.

    Args:
        bucket: the bucket it creates.
    """

    def __init__(self, bucket: str = "synthgen-test") -> None:
        self.bucket = bucket
        self._server: Any = None
        self._saved: dict[str, str | None] = {}

    def start(self) -> S3TestServer:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        env = {**_ENV, "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
        self._saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        _forget_clients()
        self.client().create_bucket(Bucket=self.bucket)
        return self

    def stop(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _forget_clients()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> S3TestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        return os.environ["AWS_ENDPOINT_URL"]

    def url(self, prefix: str) -> str:
        """``s3://<bucket>/<prefix>``."""
        return f"s3://{self.bucket}/{prefix.strip('/')}"

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` in the bucket."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def put(self, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=self.bucket, Key=key, Body=data)

    def get(self, key: str) -> bytes:
        return bytes(self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read())


def _forget_clients() -> None:
    """fsspec keeps one S3 filesystem per set of arguments: one made for another endpoint must go."""
    try:
        import s3fs
    except ImportError:
        return
    s3fs.S3FileSystem.clear_instance_cache()
