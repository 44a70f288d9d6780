"""The S3 client factory: the stdlib timestamp parser agrees with botocore's own, and the
inventory's shared client is kept per location until the credential chain changes."""

from __future__ import annotations

from pathlib import Path

import botocore.utils
import pytest
from s3helpers import s3_location

from blackstart.checks.probes.s3client import (
    chain_fingerprint,
    forget_shared,
    parse_timestamp,
    shared_client,
)

SAMPLES = [
    "2026-12-01T22:34:55.000Z",  # ListObjectsV2's LastModified
    "2026-12-01T22:34:55Z",
    "2026-12-01T22:34:55.123456+02:00",
    "Tue, 01 Dec 2026 22:34:55 GMT",  # HEAD's Last-Modified header
    "2026-12-01T22:34:55",  # naive: botocore's parser decides
    "1764628495",  # epoch seconds as text
    1764628495,
]


@pytest.mark.parametrize("value", SAMPLES)
def test_timestamps_parse_as_botocore_parses_them(value: object) -> None:
    ours, theirs = parse_timestamp(value), botocore.utils.parse_timestamp(value)
    assert ours == theirs and ours.utcoffset() == theirs.utcoffset()
    assert ours.tzinfo is not None or theirs.tzinfo is None


def test_a_garbled_timestamp_is_refused_as_botocore_refuses_it() -> None:
    with pytest.raises(ValueError):
        botocore.utils.parse_timestamp("2026-13-45Tnonsense")
    with pytest.raises(ValueError):
        parse_timestamp("2026-13-45Tnonsense")


def test_the_fingerprint_follows_the_chain(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_CONFIG_FILE": str(tmp_path / "c"),
           "HOME": str(tmp_path), "PATH": "/usr/bin"}
    base = chain_fingerprint(env)
    assert chain_fingerprint({**env, "PATH": "/bin"}) == base  # not read by the chain
    assert chain_fingerprint({**env, "AWS_ACCESS_KEY_ID": "k"}) != base
    creds.write_text("[default]\naws_access_key_id = k\n")
    assert chain_fingerprint(env) != base  # a rotated credentials file


def test_the_shared_client_is_kept_until_the_chain_changes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    loc = s3_location("http://127.0.61.1:9")  # never dialled: no call is made
    forget_shared()
    first = shared_client(loc)
    assert shared_client(loc) is first
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "rotated")
    second = shared_client(loc)
    assert second is not first
    assert second._get_credentials().access_key == "rotated"
    forget_shared(loc)
    assert shared_client(loc) is not second
    forget_shared()
