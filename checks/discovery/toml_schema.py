"""The schema of blackstart.toml (pydantic v2), and one message per bad field.

Strict types (TOML has real integers and strings: "22" is not a port), absolute paths,
ports 1..65535, http(s) URLs with a numeric port, no data dir or state dir that is "/" or
another system directory, and every node, member and service reference resolved. A file
with several mistakes gets all of them at once, each with its place in the file:
`members[1].peer_url: port 'abc' is not a number` (arrays count from 0). Tables and keys
this schema does not know are left alone ([[backups]] and [backup_policy] are read by
`backups_toml`).
"""

from __future__ import annotations

import posixpath
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

# Where etcd's data (or blackstart's state) must never be: moving such a dir aside or
# restoring into it would take the machine down with the cluster.
SYSTEM_DIRS = frozenset({
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media",
    "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/usr",
    "/usr/bin", "/usr/lib", "/usr/local", "/usr/sbin", "/var", "/var/lib", "/var/log",
    "/etc/kubernetes",
    "/tmp", "/var/tmp",  # noqa: S108 - names refused as data dirs, never written to
})


def _absolute(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"must be an absolute path, got {value!r}")
    return value


def _not_a_system_dir(value: str) -> str:
    if posixpath.normpath(value) in SYSTEM_DIRS or value.startswith("//"):
        raise ValueError(f"{value!r} is a system directory, not a data directory")
    return value


def _program(value: str) -> str:
    """A binary: a bare name looked up in PATH, or an absolute path; never relative."""
    if "/" in value and not value.startswith("/"):
        raise ValueError(f"must be a name in PATH or an absolute path, got {value!r}")
    return value


def port_problem(port: str) -> str | None:
    """Why `port` (as written) is not a TCP port, or None."""
    if not port.isdigit():
        return f"port {port!r} is not a number"
    if not 1 <= int(port) <= 65535:
        return f"port {port} is not in 1..65535"
    return None


def _port(value: int) -> int:
    problem = port_problem(str(value))
    if problem:
        raise ValueError(problem)
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s)://host:port URL")
    host_port = parts.netloc.rsplit("@", 1)[-1]
    if host_port.rsplit("]", 1)[-1].count(":") == 1:
        problem = port_problem(host_port.rsplit(":", 1)[1])
        if problem:
            raise ValueError(problem)
    return value


Text = Annotated[str, Field(min_length=1)]
AbsPath = Annotated[str, Field(min_length=1), AfterValidator(_absolute)]
DataDir = Annotated[str, Field(min_length=1), AfterValidator(_absolute),
                    AfterValidator(_not_a_system_dir)]
Program = Annotated[str, Field(min_length=1), AfterValidator(_program)]
Url = Annotated[str, Field(min_length=1), AfterValidator(_http_url)]
Port = Annotated[int, AfterValidator(_port)]
Count = Annotated[int, Field(ge=0)]


class Table(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class ClusterTable(Table):
    name: Text
    token: Text = "etcd-cluster"
    state_dir: DataDir = "/var/lib/blackstart"
    read_only: bool = False  # observer mode: blackstart writes nothing


class TlsTable(Table):
    """cert, key and CA; [client] spells the CA `cacert` like etcdctl, members `ca`."""

    cert: AbsPath
    key: AbsPath
    ca: AbsPath | None = None
    cacert: AbsPath | None = None


class SshTable(Table):
    host: Text
    port: Port = 22
    user: Text = "root"
    key: AbsPath | None = None
    known_hosts: AbsPath | None = None


class NodeTable(Table):
    name: Text
    ssh: SshTable | None = None
    backup_dirs: list[AbsPath] = []
    etcdctl: Program = "etcdctl"
    etcdutl: Annotated[str, AfterValidator(_program)] = "etcdutl"  # "" = none (etcd 3.4)


class MemberTable(Table):
    name: Text
    node: Text
    client_url: Url
    peer_url: Url
    data_dir: DataDir
    metrics_url: Url | None = None
    server: TlsTable | None = None
    peer: TlsTable | None = None
    manifest: AbsPath | None = None
    unit: Text | None = None


class CertTable(Table):
    node: Text
    role: Text
    path: AbsPath
    key: AbsPath | None = None
    ca: AbsPath | None = None
    member: Text | None = None


class LogTable(Table):
    node: Text
    kind: Literal["cri", "journald", "file"]
    path: AbsPath | None = None
    unit: Text | None = None
    component: Text = "kube-apiserver"


class ServiceTable(Table):
    node: Text
    name: Text
    kind: Literal["command", "systemd", "static-pod"]
    start: list[str] = []
    stop: list[str] = []
    unit: Text | None = None
    manifest: AbsPath | None = None
    member: Text | None = None


class RetentionTable(Table):
    keep: Count = 14
    hot_days: Count = 7
    cold_days: Count = 30


class InventoryFile(Table):
    cluster: ClusterTable
    client: TlsTable | None = None
    retention: RetentionTable = RetentionTable()
    nodes: list[NodeTable] = []
    members: Annotated[list[MemberTable], Field(min_length=1)]
    certificates: list[CertTable] = []
    logs: list[LogTable] = []
    services: list[ServiceTable] = []


def validate(data: dict[str, Any]) -> tuple[InventoryFile | None, list[str]]:
    """The parsed file and no problems, or None and one line per bad field."""
    try:
        doc = InventoryFile.model_validate(data)
    except ValidationError as exc:
        return None, [_line(e) for e in exc.errors(include_url=False)]
    problems = _tls_problems(doc) + _reference_problems(doc)
    return (None, problems) if problems else (doc, [])


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_MESSAGES = {
    "missing": "missing",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "list_type": "must be a list",
    "model_type": "must be a table",
    "dict_type": "must be a table",
    "string_too_short": "must not be empty",
    "greater_than_equal": "must be 0 or more",
}


def _line(err: Any) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "value_error":
        text = msg.removeprefix("Value error, ")
    elif kind == "literal_error":
        text = f"{err['input']!r} is not one of {err['ctx']['expected']}"
    elif kind == "too_short" and err["loc"] == ("members",):
        text = "no [[members]]: at least one etcd member is needed"
    else:
        text = _MESSAGES.get(kind, msg)
    where = _where(tuple(err["loc"]))
    return f"{where}: {text}" if where else text


def _tls_problems(doc: InventoryFile) -> list[str]:
    tables = [("client", doc.client)] + [
        (f"members[{i}].{side}", getattr(m, side)) for i, m in enumerate(doc.members)
        for side in ("server", "peer")]
    return [f"{where}: missing 'ca' (or 'cacert')" for where, t in tables
            if t is not None and not (t.ca or t.cacert)]


def _reference_problems(doc: InventoryFile) -> list[str]:
    """Names that point at nothing: a typo here would fail mid-plan, after etcd stopped."""
    nodes = [n.name for n in doc.nodes]
    members = [m.name for m in doc.members]
    out = _duplicates("nodes", nodes) + _duplicates("members", members)
    refs = [(f"members[{i}].node", m.node, nodes) for i, m in enumerate(doc.members)]
    refs += [(f"certificates[{i}].node", c.node, nodes) for i, c in enumerate(doc.certificates)]
    refs += [(f"logs[{i}].node", x.node, nodes) for i, x in enumerate(doc.logs)]
    refs += [(f"services[{i}].node", s.node, nodes) for i, s in enumerate(doc.services)]
    refs += [(f"certificates[{i}].member", c.member, members)
             for i, c in enumerate(doc.certificates) if c.member is not None]
    refs += [(f"services[{i}].member", s.member, members)
             for i, s in enumerate(doc.services) if s.member is not None]
    for where, name, known in refs:
        if name not in known:
            table = "nodes" if where.endswith(".node") else "members"
            names = ", ".join(dict.fromkeys(known)) or "none"
            out.append(f"{where}: {name!r} is not the name of any [[{table}]] (known: {names})")
    return out


def _duplicates(key: str, names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i, name in enumerate(names):
        if name in seen:
            out.append(f"{key}[{i}].name: {name!r} is used by another [[{key}]] too")
        seen.add(name)
    return out
