"""Pure judgements about backup copies: what state an S3 copy is in, given its stored
checksum and metadata and the local copy of the same snapshot (if any); what the kit
beside a copy holds; the cache record of a location's listing."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any

from blackstart.checks.probe_results import BackupCopy, BackupLocationState

KIT_PARTS = ("manifests", "pki", "pki-keys", "encryption-config", "versions")
KIT_INDEX = "kit.json"


@dataclass
class LocalRef:
    """A verified local copy an S3 object can be compared with."""

    where: str
    size: int
    trailer: str  # hex of the last 32 bytes (the snapshot's own sha256 of its body)


def classify_s3(size: int, stored: str, meta: dict[str, str], local: LocalRef | None
                ) -> tuple[str, str]:
    """(state, why) from HEAD alone. `stored`: ChecksumSHA256 as the store returned it,
    composite suffix stripped; `meta`: x-amz-meta-* (lower-case keys)."""
    recorded = meta.get("blackstart-checksum", "")
    if not recorded:
        return "unverified", ("uploaded without blackstart's checksum metadata; a full "
                              "download-and-verify decides")
    if not stored:
        return "unverified", ("the store returned no ChecksumSHA256 for it; a full "
                              "download-and-verify decides")
    if stored != recorded:
        return "broken", (f"stored ChecksumSHA256 {stored} ≠ {recorded} recorded at upload: "
                          "the object changed after it was written")
    if local is None:
        return "unverified", ("checksum intact, but no local copy to compare with; a full "
                              "download-and-verify decides")
    if local.size != size or local.trailer != meta.get("blackstart-trailer", ""):
        return "broken", (f"differs from the verified local copy {local.where} "
                          f"({size:,} vs {local.size:,} bytes or another sha256 trailer)")
    return "verified", (f"stored checksum as uploaded and same bytes as the verified local "
                        f"copy {local.where}")


def classify_download(valid: bool, error: str | None, whole: str | None,
                      meta: dict[str, str]) -> tuple[str, str]:
    """(state, why) after a full download-and-verify."""
    if not valid:
        return "broken", f"full download-and-verify failed: {error or 'invalid snapshot'}"
    want = meta.get("blackstart-sha256")
    if want and whole and want != whole:
        return "broken", f"downloaded sha256 {whole[:16]}… ≠ {want[:16]}… recorded at upload"
    return "verified", "full download-and-verify passed (sha256 trailer, bbolt walk)"


def kit_parts_from_index(index: dict[str, Any]) -> list[str]:
    parts = index.get("parts", [])
    return [p for p in KIT_PARTS if isinstance(parts, list) and p in parts]


def kit_parts_from_tar(data: bytes) -> list[str]:
    """The parts a kit archive says it holds (its kit.json); [] when unreadable."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            member = tar.extractfile(KIT_INDEX)
            if member is None:
                return []
            return kit_parts_from_index(json.loads(member.read()))
    except (tarfile.TarError, OSError, KeyError, ValueError):
        return []


def kit_name(snapshot_name: str) -> str:
    return f"{snapshot_name}.kit.tar.gz"


def is_kit_name(name: str) -> bool:
    return name.endswith(".kit.tar.gz")


# --------------------------------------------------------------------------- cache record


def cache_record(state: BackupLocationState) -> dict[str, Any]:
    """What the state dir keeps of a location: its listing and every copy's verdict."""
    return {"name": state.name, "kind": state.kind, "listed_at": state.listed_at,
            "copies": [_copy_record(c) for c in state.copies]}


def _copy_record(c: BackupCopy) -> dict[str, Any]:
    """asdict() without its deep copy of every value (a third of a 1,000-copy cache
    write): the fields are flat, only kit and meta are containers."""
    rec = dict(vars(c))
    rec["kit"], rec["meta"] = list(c.kit), dict(c.meta)
    return rec


def copies_from_record(rec: dict[str, Any]) -> list[BackupCopy]:
    out = []
    for c in rec.get("copies", []):
        try:
            out.append(BackupCopy(**c))
        except TypeError:
            continue  # a record from another version: skip it rather than fail the check
    return out
