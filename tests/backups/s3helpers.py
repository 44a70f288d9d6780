"""Helpers for the backup tests: the moto server handle, locations and clusters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blackstart.checks.model import BackupLocation, BackupPolicy, Cluster, Member, Node, Retention

HOST = "127.0.61.1"  # this suite's own loopback net for S3 servers


@dataclass
class S3Server:
    endpoint: str
    server: Any  # ThreadedMotoServer
    stopped: bool = False

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.server.stop()


def s3_location(endpoint: str, bucket: str = "etcd-backups", name: str = "s3",
                keep: int = 14, prefix: str = "lab/") -> BackupLocation:
    return BackupLocation(name, "s3", "offsite", endpoint=endpoint, bucket=bucket,
                          prefix=prefix, region="us-east-1",
                          retention=Retention(keep=keep, hot_days=0, cold_days=0))


def cluster_with(tmp_path: Path, *locs: BackupLocation, backup_dir: Path | None = None
                 ) -> Cluster:
    node = Node("local", backup_dirs=(str(backup_dir),) if backup_dir else ())
    member = Member("m1", "local", "http://127.0.61.9:2379", "http://127.0.61.9:2380",
                    str(tmp_path / "data"))
    state = tmp_path / "state"
    state.mkdir(mode=0o700, exist_ok=True)
    return Cluster("bk", (node,), (member,), backups=tuple(locs), state_dir=str(state),
                   backup_policy=BackupPolicy())
