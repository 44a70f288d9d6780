"""`backups verify`: full download-and-verify of S3 copies on demand, remembered in the
state dir cache so every later check shows the verdict."""

from __future__ import annotations

from concurrent.futures import Future

from blackstart.checks.formats.backup_copies import copies_from_record
from blackstart.checks.model import BackupLocation, Cluster
from blackstart.checks.probe_results import BackupCopy, BackupLocationState
from blackstart.checks.probes import s3read
from blackstart.checks.probes.backups import apply_full_verify, is_snapshot_name, read_cache
from blackstart.runbook.backup_cache import remember


def verify_all(cluster: Cluster, loc: BackupLocation, names: tuple[str, ...] = ()
               ) -> list[BackupCopy]:
    client = s3read.s3_client(loc, timeout=10.0)
    objs = [o for o in s3read.list_objects(client, loc) if is_snapshot_name(o.name)
            and (not names or o.name in names)]
    known = {c.etag: c for c in copies_from_record(read_cache(cluster.state_dir, loc.name))}
    out = []
    for o in objs:
        c = known.get(o.etag) or BackupCopy(loc.name, o.name, f"s3://{loc.bucket}/{o.key}",
                                            o.size, o.mtime, etag=o.etag)
        h = s3read.head(client, loc, o.key)
        c.meta = {str(k).lower(): str(v) for k, v in h.get("Metadata", {}).items()}
        c.stored_checksum = s3read.checksum_b64(h.get("ChecksumSHA256"))
        fut: Future[object] = Future()
        try:
            fut.set_result(s3read.verify_object(client, loc, o))
        except s3read.S3Error as exc:
            fut.set_exception(exc)
        apply_full_verify(c, fut)
        out.append(c)
    merged = {c.etag: c for c in [*known.values(), *out]}
    st = BackupLocationState(loc.name, loc.kind, loc.domain,
                             copies=sorted(merged.values(), key=lambda c: -c.mtime))
    remember(cluster.state_dir, [st])
    return out
