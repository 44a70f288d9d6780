"""`[[backups]]` and `[backup_policy]` of blackstart.toml -> BackupLocation / BackupPolicy.

Pure. Kept apart from inventory.py so that the inventory only calls one function. A secret
never belongs in the toml: keys that look like credentials are refused by name, so that an
operator who tries gets told where credentials do go (the AWS chain or a named profile).
"""

from __future__ import annotations

import re
from typing import Any

from blackstart.checks.errors import BlackstartError
from blackstart.checks.model import BackupLocation, BackupPolicy, Retention

KINDS = ("dir", "s3")
DOMAIN_RE = re.compile(r"^(node:[\w.-]+|site:[\w.-]+|offsite|offline)$")
SECRET_KEYS = ("aws_access_key_id", "aws_secret_access_key", "access_key", "secret_key",
               "secret", "password", "session_token", "aws_session_token", "credentials")
DIR_KEYS = {"name", "kind", "domain", "node", "path", "retention"}
S3_KEYS = {"name", "kind", "domain", "endpoint", "bucket", "prefix", "region", "profile",
           "retention"}
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class BackupConfigError(BlackstartError, ValueError):
    """One [[backups]] entry is wrong; the message names the entry and the key."""


def parse_backups(entries: Any, where: str, default: Retention,
                  nodes: set[str]) -> tuple[BackupLocation, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise BackupConfigError(f"{where}: [[backups]] must be an array of tables")
    out = [_location(e, f"{where}: [[backups]] #{i + 1}", default, nodes)
           for i, e in enumerate(entries)]
    names = [b.name for b in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise BackupConfigError(f"{where}: two [[backups]] are named {dup!r}")
    return tuple(out)


def _location(e: Any, where: str, default: Retention, nodes: set[str]) -> BackupLocation:
    if not isinstance(e, dict):
        raise BackupConfigError(f"{where}: expected a table")
    secret = next((k for k in e if k.lower() in SECRET_KEYS), None)
    if secret:
        raise BackupConfigError(
            f"{where}: {secret!r} looks like a credential; never put secrets in "
            "blackstart.toml: use the standard AWS chain (environment, ~/.aws, instance "
            "role) or name a profile with profile = \"...\"")
    kind = _text(e, "kind", where)
    if kind not in KINDS:
        raise BackupConfigError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    unknown = sorted(set(e) - (DIR_KEYS if kind == "dir" else S3_KEYS))
    if unknown:
        raise BackupConfigError(f"{where}: unknown key(s) {', '.join(unknown)} for kind {kind}")
    name = _text(e, "name", where)
    domain = _text(e, "domain", where)
    if not DOMAIN_RE.match(domain):
        raise BackupConfigError(f"{where}: domain {domain!r} must be node:NAME, site:NAME, "
                                "offsite or offline")
    retention = _retention(e.get("retention"), f"{where}, retention", default)
    if kind == "dir":
        node = _text(e, "node", where)
        if node not in nodes:
            raise BackupConfigError(f"{where}: node {node!r} is not in [[nodes]]")
        path = _text(e, "path", where)
        if not path.startswith("/"):
            raise BackupConfigError(f"{where}: path {path!r} must be absolute")
        return BackupLocation(name, kind, domain, node=node, path=path.rstrip("/") or "/",
                              retention=retention)
    bucket = _text(e, "bucket", where)
    if not BUCKET_RE.match(bucket):
        raise BackupConfigError(f"{where}: bucket {bucket!r} is not a valid S3 bucket name")
    endpoint = _opt(e, "endpoint", where)
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise BackupConfigError(f"{where}: endpoint {endpoint!r} must be an http(s):// URL")
    prefix = _opt(e, "prefix", where) or ""
    return BackupLocation(name, kind, domain, endpoint=endpoint, bucket=bucket,
                          prefix=normal_prefix(prefix), region=_opt(e, "region", where),
                          profile=_opt(e, "profile", where), retention=retention)


def normal_prefix(prefix: str) -> str:
    """'' or 'a/b/' — keys are prefix + file name."""
    p = prefix.strip("/")
    return f"{p}/" if p else ""


def parse_policy(t: Any, where: str) -> BackupPolicy:
    if t is None:
        return BackupPolicy()
    if not isinstance(t, dict):
        raise BackupConfigError(f"{where}: [backup_policy] must be a table")
    rpo = _number(t, "rpo_minutes", 60, where)
    drill = _number(t, "drill_max_days", 7, where)
    return BackupPolicy(rpo_seconds=rpo * 60.0, drill_max_age_seconds=drill * 86400.0)


def _retention(t: Any, where: str, default: Retention) -> Retention:
    if t is None:
        return default
    if not isinstance(t, dict):
        raise BackupConfigError(f"{where}: expected a table {{keep, hot_days, cold_days}}")
    return Retention(keep=int(_number(t, "keep", default.keep, where)),
                     hot_days=int(_number(t, "hot_days", default.hot_days, where)),
                     cold_days=int(_number(t, "cold_days", default.cold_days, where)))


def _text(e: dict[str, Any], key: str, where: str) -> str:
    v = e.get(key)
    if not isinstance(v, str) or not v:
        raise BackupConfigError(f"{where}: {key!r} must be a non-empty string")
    return v


def _opt(e: dict[str, Any], key: str, where: str) -> str | None:
    return _text(e, key, where) if key in e else None


def _number(t: dict[str, Any], key: str, default: float, where: str) -> float:
    v = t.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
        raise BackupConfigError(f"{where}: {key!r} must be a number ≥ 0")
    return float(v)
