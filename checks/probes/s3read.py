"""Read-only S3 access for the checks: list, head, ranged and streamed GETs — nothing else.

The same boto3 client the runbook writes with (`s3client`), so tests against a moto
server exercise the production path. Credentials come only from boto3's own chain or the
location's named profile. Timeouts are short and retries few: a listing must come back
within the probe's deadline or be reported as slow, never hang the TUI.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from blackstart.checks.formats.snapshot_file import SnapshotVerdict, verify_snapshot
from blackstart.checks.model import BackupLocation
from blackstart.checks.probes.s3client import S3Error, forget_shared, s3_client, shared_client

__all__ = ["S3Error", "forget_shared", "s3_client", "shared_client"]  # re-exported; the
# rest of this module's names are public as well

PRUNED = "pruned/"
KIT_SUFFIX = ".kit.tar.gz"
BLOCK = 1 << 20
CACHE_BLOCKS = 32
META_SHA = "blackstart-sha256"  # whole-file sha256 hex, computed before the upload
META_CHECKSUM = "blackstart-checksum"  # the ChecksumSHA256 S3 should store (composite ok)
META_TRAILER = "blackstart-trailer"  # the snapshot's own sha256 trailer (last 32 bytes)
META_REVISION = "blackstart-revision"
META_KEYS = "blackstart-keys"
META_KIT = "blackstart-kit"  # on a kit object: its parts, comma-separated


@dataclass
class S3Object:
    key: str
    name: str  # key below the location's prefix
    size: int
    mtime: float
    etag: str


def error_code(exc: BaseException) -> str:
    """The S3 error code of a ClientError, also when boto3's transfer wrapped it
    (S3UploadFailedError keeps only the text: "An error occurred (NoSuchBucket) ...")."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, botocore.exceptions.ClientError):
            return str(seen.response.get("Error", {}).get("Code", ""))
        seen = seen.__cause__ or seen.__context__
    m = re.search(r"An error occurred \((\w+)\)", str(exc))
    return m.group(1) if m else ""


def explain(loc: BackupLocation, exc: Exception, doing: str) -> str:
    """One sentence an operator can act on, naming the location and the call."""
    where = f"backup location {loc.name} (s3://{loc.bucket}/{loc.prefix})"
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return (f"{where}: no AWS credentials found while {doing}; set them in the "
                "standard chain (AWS_* environment, ~/.aws/credentials, instance role) "
                "or name a profile in [[backups]]")
    code = error_code(exc)
    if code:
        hints = {
            "NoSuchBucket": f"bucket {loc.bucket!r} does not exist: create it (with "
                            "versioning and object lock for ransomware safety) or fix "
                            "the bucket name",
            "InvalidAccessKeyId": "the access key is not known to the store: check the "
                                  "credentials of the chain or profile",
            "SignatureDoesNotMatch": "the secret key is wrong: check the credentials of "
                                     "the chain or profile",
            "AccessDenied": "access denied: the credentials lack s3:ListBucket/GetObject/"
                            "PutObject on this bucket and prefix",
            "403": "access denied (bad credentials or missing permission)",
            "404": "not found",
        }
        return f"{where}: {doing} failed: {code}: {hints.get(code, str(exc))}"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | ConnectionError):
        return (f"{where}: cannot reach {loc.endpoint or 'AWS S3'} while {doing} ({exc}); "
                "is the store up and the endpoint right?")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return f"{where}: {doing} failed: {exc}"
    return f"{where}: {doing} failed: {type(exc).__name__}: {exc}"


def list_objects(client: Any, loc: BackupLocation) -> list[S3Object]:
    """Every object under the prefix, pruned/ excluded, newest first."""
    out: list[S3Object] = []
    pruned = loc.prefix + PRUNED
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=loc.bucket, Prefix=loc.prefix)
        for page in pages:
            for o in page.get("Contents", []):
                key = str(o["Key"])
                if key.startswith(pruned) or key.endswith("/"):
                    continue
                out.append(S3Object(key, key[len(loc.prefix):], int(o["Size"]),
                                    o["LastModified"].timestamp(),
                                    str(o.get("ETag", "")).strip('"')))
    except Exception as exc:  # noqa: BLE001 - every failure becomes a sentence
        raise S3Error(explain(loc, exc, "listing")) from exc
    out.sort(key=lambda o: o.mtime, reverse=True)
    return out


def head(client: Any, loc: BackupLocation, key: str) -> dict[str, Any]:
    try:
        h: dict[str, Any] = client.head_object(Bucket=loc.bucket, Key=key,
                                               ChecksumMode="ENABLED")
    except Exception as exc:  # noqa: BLE001
        raise S3Error(explain(loc, exc, f"HEAD {key}")) from exc
    return h


def get_range(client: Any, loc: BackupLocation, key: str, start: int, size: int) -> bytes:
    if size <= 0:
        return b""
    try:
        r = client.get_object(Bucket=loc.bucket, Key=key,
                              Range=f"bytes={start}-{start + size - 1}")
        data: bytes = r["Body"].read()
    except Exception as exc:  # noqa: BLE001
        raise S3Error(explain(loc, exc, f"reading {key}")) from exc
    return data


def checksum_b64(stored: str | None) -> str:
    """ChecksumSHA256 without a composite '-N' suffix (stores differ in printing it)."""
    return (stored or "").split("-", 1)[0]


def sha256_b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


class RangeReader:
    """`ReadAt` over ranged GETs with a small block cache, for the bbolt walk."""

    def __init__(self, client: Any, loc: BackupLocation, key: str) -> None:
        self.client, self.loc, self.key = client, loc, key
        self.blocks: OrderedDict[int, bytes] = OrderedDict()

    def _block(self, i: int) -> bytes:
        if i in self.blocks:
            self.blocks.move_to_end(i)
            return self.blocks[i]
        data = get_range(self.client, self.loc, self.key, i * BLOCK, BLOCK)
        self.blocks[i] = data
        if len(self.blocks) > CACHE_BLOCKS:
            self.blocks.popitem(last=False)
        return data

    def read_at(self, offset: int, size: int) -> bytes:
        parts = []
        while size > 0:
            piece = self._block(offset // BLOCK)[offset % BLOCK: offset % BLOCK + size]
            if not piece:
                break
            parts.append(piece)
            offset += len(piece)
            size -= len(piece)
        return b"".join(parts)


@dataclass
class StreamHashes:
    body: bytes  # sha256 of the first n bytes
    whole: str  # sha256 hex of the whole object


def stream_hashes(client: Any, loc: BackupLocation, key: str, n: int) -> StreamHashes:
    """One sequential GET: the body hash the trailer is checked against and the whole-file
    hash the upload's metadata recorded."""
    body, whole, seen = hashlib.sha256(), hashlib.sha256(), 0
    try:
        stream = client.get_object(Bucket=loc.bucket, Key=key)["Body"]
        for chunk in iter(lambda: stream.read(8 << 20), b""):
            whole.update(chunk)
            if seen < n:
                body.update(chunk[: n - seen])
            seen += len(chunk)
    except Exception as exc:  # noqa: BLE001
        raise S3Error(explain(loc, exc, f"downloading {key}")) from exc
    return StreamHashes(body.digest(), whole.hexdigest())


def verify_object(client: Any, loc: BackupLocation, obj: S3Object
                  ) -> tuple[SnapshotVerdict, str | None]:
    """Full download-and-verify without writing anything: the bbolt walk over ranged
    GETs, the trailer against a streamed hash. Returns (verdict, whole-file sha256)."""
    hashes: list[StreamHashes] = []

    def body_sha(n: int) -> bytes:
        hashes.append(stream_hashes(client, loc, obj.key, n))
        return hashes[-1].body

    where = f"s3://{loc.bucket}/{obj.key}"
    v = verify_snapshot(RangeReader(client, loc, obj.key), obj.size, where, body_sha)
    return v, (hashes[-1].whole if hashes else None)
