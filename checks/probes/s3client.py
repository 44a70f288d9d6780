"""The boto3 S3 client blackstart reads and writes with, and the one the inventory reuses.

`s3_client` makes a new client each call (writers and tests register event handlers on
theirs). `shared_client` keeps one per location for the read-only inventory: making a
client parses botocore's service models (0.2-0.5 s, more on a loaded box), and a TUI
refresh or the next location listing should not pay that again. A shared client is
replaced when what the credential chain reads changes (AWS_* variables, the shared
config and credentials files) or after a failed call.

Both parse timestamps with the standard library: botocore's default parser is dateutil's
general one, about 1 ms a call, which is three quarters of parsing a 1,000-key listing.
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import os
import threading
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import botocore.session
import botocore.utils

from blackstart.checks.model import BackupLocation

# Connections kept per client: as many as the inventory's HEAD threads and more than
# boto3's transfer threads (botocore's default of 10 drops the extra ones after each use).
POOL_CONNECTIONS = 16
_SHARED: dict[tuple[str, ...], Any] = {}
_LOCK = threading.Lock()


class S3Error(Exception):
    """An S3 call failed; the message names the location and says what to do."""


def parse_timestamp(value: Any) -> datetime.datetime:
    """S3 timestamps: ISO 8601 in XML bodies, RFC 7231 in headers, both parsed exactly by
    the standard library; anything else (epoch numbers, naive or odd forms) by botocore's
    own parser, so the result is always what botocore would have returned."""
    if isinstance(value, str):
        try:
            if value[4:5] == "-":
                dt = datetime.datetime.fromisoformat(value)
            else:
                dt = email.utils.parsedate_to_datetime(value)
        except (ValueError, TypeError, IndexError):
            dt = None
        if dt is not None and dt.tzinfo is not None:
            return dt
    parsed: datetime.datetime = botocore.utils.parse_timestamp(value)
    return parsed


def s3_client(loc: BackupLocation, timeout: float = 5.0, retries: int = 2,
              read_timeout: float = 30.0) -> Any:
    """A new boto3 S3 client for `loc`: its endpoint, region and profile; path-style keys
    for S3-compatible stores (they rarely have wildcard DNS). `read_timeout` bounds one
    response: writers give more (completing a big multipart upload takes a while)."""
    core = botocore.session.Session()
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_timestamp)
    cfg = botocore.config.Config(
        connect_timeout=timeout, read_timeout=max(timeout, read_timeout),
        retries={"max_attempts": retries, "mode": "standard"},
        s3={"addressing_style": "path" if loc.endpoint else "auto"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=POOL_CONNECTIONS,
    )
    try:
        session = boto3.session.Session(botocore_session=core, profile_name=loc.profile,
                                        region_name=loc.region)
        return session.client("s3", endpoint_url=loc.endpoint, config=cfg,
                              region_name=loc.region or "us-east-1")
    except botocore.exceptions.ProfileNotFound as exc:
        raise S3Error(f"backup location {loc.name}: AWS profile {loc.profile!r} not found "
                      "in ~/.aws/config or ~/.aws/credentials") from exc


def chain_fingerprint(env: dict[str, str]) -> str:
    """A digest of what the standard credential chain reads: the AWS_* variables and the
    size and mtime of the shared config and credentials files (two stats, no parsing)."""
    h = hashlib.sha256()
    for k in sorted(k for k in env if k.startswith("AWS_")):
        h.update(f"{k}={env[k]}\0".encode())
    for var, default in (("AWS_CONFIG_FILE", "~/.aws/config"),
                         ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")):
        path = os.path.expanduser(env.get(var, default))
        try:
            st = os.stat(path)
            h.update(f"{path}:{st.st_mtime_ns}:{st.st_size}\0".encode())
        except OSError:
            h.update(f"{path}:absent\0".encode())
    return h.hexdigest()


def _key(loc: BackupLocation) -> tuple[str, ...]:
    return (loc.name, loc.endpoint or "", loc.region or "", loc.profile or "")


def shared_client(loc: BackupLocation) -> Any:
    """The inventory's client for `loc` (default timeouts), made once per location and
    credential chain. Thread-safe, as boto3 clients are; never hand it to code that
    registers event handlers on it."""
    key = (*_key(loc), chain_fingerprint(dict(os.environ)))
    with _LOCK:
        client = _SHARED.get(key)
    if client is not None:
        return client
    made = s3_client(loc)  # outside the lock: two locations' clients are made at once
    with _LOCK:
        for old in [k for k in _SHARED if k[:-1] == key[:-1] and k != key]:
            del _SHARED[old]  # the chain changed: the old client's keys may be stale
        return _SHARED.setdefault(key, made)


def forget_shared(loc: BackupLocation | None = None) -> None:
    """Drop the shared client of `loc` (all when None): after a failed call the next one
    starts from a fresh session and credential lookup."""
    with _LOCK:
        for k in [k for k in _SHARED if loc is None or k[:-1] == _key(loc)]:
            del _SHARED[k]
