"""Writes to S3 backup locations: upload with a checksum sent and checked, prune (moved to
`pruned/`, or deleted when asked), download. Same boto3 client as the checks' reads.

Upload: the file is hashed first (whole-file sha256, per-part sha256 for the multipart
composite, the snapshot's own trailer), then sent with boto3's managed transfer and
`ChecksumAlgorithm=SHA256` (multipart above the threshold, parts in parallel; every part
carries its checksum, which a real S3 checks on receipt), then HEAD compares the checksum
the store keeps with the one computed here. An existing key is never overwritten.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from boto3.s3.transfer import TransferConfig

from blackstart.checks.formats.snapshot_file import TRAILER
from blackstart.checks.model import BackupLocation
from blackstart.checks.probes import s3read
from blackstart.checks.probes.s3read import S3Error, explain

PART = 16 << 20  # multipart threshold and part size
CONCURRENCY = 10  # boto3's own default for upload_file
READ = 8 << 20


@dataclass
class FileHashes:
    sha256: str  # hex, whole file
    checksum: str  # the ChecksumSHA256 S3 will store: whole-file or multipart composite
    trailer: str  # hex of the last 32 bytes
    size: int


def hash_file(path: str, part: int = PART) -> FileHashes:
    """Whole-file sha256 and the per-part digests of the multipart composite, in two
    threads at once (hashlib drops the GIL on big buffers; the second read comes from the
    page cache), so hashing costs about one pass on two cores."""
    size = os.path.getsize(path)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="blackstart-hash") as pool:
        whole_f = pool.submit(_whole_sha256, path)
        parts = pool.submit(_part_digests, path, part).result()
        whole = whole_f.result()
    with open(path, "rb") as fh:
        fh.seek(max(size - TRAILER, 0))
        trailer = fh.read(TRAILER).hex()
    if size >= part:  # boto3 goes multipart at the threshold: S3 keeps the composite
        checksum = s3read.sha256_b64(hashlib.sha256(b"".join(parts)).digest())
    else:
        checksum = s3read.sha256_b64(bytes.fromhex(whole))
    return FileHashes(whole, checksum, trailer, size)


def _whole_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(READ), b""):
            h.update(chunk)
    return h.hexdigest()


def _part_digests(path: str, part: int) -> list[bytes]:
    out = []
    with open(path, "rb") as fh:
        for piece in iter(lambda: fh.read(part), b""):
            out.append(hashlib.sha256(piece).digest())
    return out


def transfer_config(part: int = PART) -> TransferConfig:
    return TransferConfig(multipart_threshold=part, multipart_chunksize=part,
                          max_concurrency=CONCURRENCY, use_threads=True)


def writer(loc: BackupLocation) -> Any:
    """The client for writes: a retried CompleteMultipartUpload after a read timeout finds
    the upload already gone, so a response may take minutes rather than be retried."""
    return s3read.s3_client(loc, timeout=10.0, retries=3, read_timeout=600.0)


def key_of(loc: BackupLocation, name: str) -> str:
    return loc.prefix + name


def _exists(client: Any, loc: BackupLocation, key: str) -> dict[str, Any] | None:
    try:
        h: dict[str, Any] = client.head_object(Bucket=loc.bucket, Key=key,
                                               ChecksumMode="ENABLED")
        return h
    except Exception as exc:  # noqa: BLE001 - 404 means free; anything else is the answer
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound"):
            return None
        raise S3Error(explain(loc, exc, f"HEAD {key}")) from exc


def upload(loc: BackupLocation, path: str, name: str, extra_meta: dict[str, str], *,
           client: Any | None = None, part: int = PART) -> str:
    """Upload `path` as prefix+name; returns one line saying what was stored. Raises
    S3Error with the reason (the local file is only ever read)."""
    client = client or writer(loc)
    key = key_of(loc, name)
    h = hash_file(path, part)
    meta = {s3read.META_SHA: h.sha256, s3read.META_CHECKSUM: h.checksum,
            s3read.META_TRAILER: h.trailer, **extra_meta}
    there = _exists(client, loc, key)
    if there is not None:
        if there.get("Metadata", {}).get(s3read.META_SHA) == h.sha256:
            return f"s3://{loc.bucket}/{key} already holds these bytes (sha256 {h.sha256[:12]}…)"
        raise S3Error(f"backup location {loc.name}: s3://{loc.bucket}/{key} already exists "
                      "with other content; refusing to overwrite it")
    try:
        client.upload_file(path, loc.bucket, key, Config=transfer_config(part),
                           ExtraArgs={"ChecksumAlgorithm": "SHA256", "Metadata": meta})
    except Exception as exc:  # noqa: BLE001 - S3UploadFailedError, connection errors...
        raise S3Error(explain(loc, exc, f"uploading {path}") + f"; {path} is kept as it "
                      "was (an unfinished multipart upload is aborted by boto3; a bucket "
                      "lifecycle rule for incomplete uploads cleans any left)") from exc
    stored = s3read.checksum_b64(s3read.head(client, loc, key).get("ChecksumSHA256"))
    if stored != h.checksum:
        raise S3Error(f"backup location {loc.name}: s3://{loc.bucket}/{key} was stored with "
                      f"ChecksumSHA256 {stored or 'none'}, not {h.checksum} as sent: the "
                      f"copy is not trusted (the checks show it broken); {path} is kept")
    return (f"uploaded {path} -> s3://{loc.bucket}/{key} ({h.size:,} bytes, "
            f"ChecksumSHA256 {h.checksum} stored as sent)")


def lock_state(client: Any, loc: BackupLocation, key: str, now: float) -> str | None:
    """Why the object must stay (object lock retention in the future, legal hold), else
    None. Read from HEAD, which carries both (GetObjectRetention is not on every store)."""
    h = s3read.head(client, loc, key)
    until = h.get("ObjectLockRetainUntilDate")
    if until is not None and until.timestamp() > now:
        return f"object lock {h.get('ObjectLockMode', '')} until {until.isoformat()}"
    if h.get("ObjectLockLegalHoldStatus") == "ON":
        return "legal hold ON"
    return None


def prune(loc: BackupLocation, key: str, dst: str | None, now: float,
          client: Any | None = None) -> str:
    """Move `key` to `dst` (copy, then delete the original) or, with dst None, delete it.
    An object under lock is left alone and said so: the lock is the operator's policy."""
    client = client or writer(loc)
    locked = lock_state(client, loc, key, now)
    if locked:
        return f"kept s3://{loc.bucket}/{key}: {locked} (retention respected)"
    try:
        if dst is not None:
            client.copy({"Bucket": loc.bucket, "Key": key}, loc.bucket, dst,
                        ExtraArgs={"MetadataDirective": "COPY", "ChecksumAlgorithm": "SHA256"})
        client.delete_object(Bucket=loc.bucket, Key=key)
    except Exception as exc:  # noqa: BLE001
        raise S3Error(explain(loc, exc, f"pruning {key}")) from exc
    if dst is None:
        return f"deleted s3://{loc.bucket}/{key} (retention, --delete)"
    return f"moved s3://{loc.bucket}/{key} -> {dst}"


def download(loc: BackupLocation, key: str, dst: str, client: Any | None = None) -> str:
    """Download to dst (written as dst.part, then renamed); returns the whole sha256 hex."""
    client = client or writer(loc)
    part = dst + ".part"
    try:
        client.download_file(loc.bucket, key, part, Config=transfer_config())
    except Exception as exc:  # noqa: BLE001
        if os.path.exists(part):
            os.unlink(part)  # our own partial download in the state dir
        raise S3Error(explain(loc, exc, f"downloading {key}")) from exc
    os.chmod(part, 0o600)
    os.replace(part, dst)
    h = hashlib.sha256()
    with open(dst, "rb") as fh:
        for chunk in iter(lambda: fh.read(READ), b""):
            h.update(chunk)
    return h.hexdigest()
