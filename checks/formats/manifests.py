"""Pure parsers for the places an etcd's configuration is written down.

kubeadm static pod manifests (YAML), systemd units (ExecStart, Environment,
EnvironmentFile), `/etc/etcd/etcd.conf`-style environment files (`ETCD_*` variables), and
command lines (`--flag=value`). Everything here works on text and returns data; the
inventory does the file reading. Bad input raises `ManifestError` naming the file.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from blackstart.checks.errors import BlackstartError


class ManifestError(BlackstartError):
    """A configuration file could not be understood. The message names the file."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(problem, where=path)
        self.path = path
        self.problem = problem


# --------------------------------------------------------------------------- command lines


def parse_flags(argv: Sequence[str]) -> dict[str, str]:
    """`--a=b`, `-a=b`, `--a b` and bare `--flag` (→ "true") into a dict; the last wins.

    Go's flag package accepts one or two dashes and a separate value word; a bare flag
    followed by another flag is a boolean.
    """
    flags: dict[str, str] = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if not word.startswith("-") or word in ("-", "--"):
            continue
        name, eq, value = word.lstrip("-").partition("=")
        if not eq:
            if i < len(argv) and not argv[i].startswith("-"):
                value = argv[i]
                i += 1
            else:
                value = "true"
        if name:
            flags[name] = value
    return flags


def split_urls(value: str | None) -> list[str]:
    """A comma-separated URL list, blanks dropped."""
    return [u.strip() for u in (value or "").split(",") if u.strip()]


def parse_initial_cluster(value: str) -> list[tuple[str, str]]:
    """`n1=https://a:2380,n2=https://b:2380` → [(n1, url), ...]; a member's first URL only.

    Raises ValueError on an entry without `=` (etcd refuses those too).
    """
    seen: dict[str, str] = {}
    for entry in split_urls(value):
        name, eq, url = entry.partition("=")
        if not eq or not name.strip() or not url.strip():
            raise ValueError(f"--initial-cluster entry {entry!r} is not name=URL")
        seen.setdefault(name.strip(), url.strip())
    return list(seen.items())


# --------------------------------------------------------------------------- etcd config


@dataclass(frozen=True)
class EtcdConfig:
    """What an etcd command line (or ETCD_* environment) says about one member."""

    name: str = "default"
    data_dir: str = "default.etcd"
    advertise_client_urls: tuple[str, ...] = ()
    listen_client_urls: tuple[str, ...] = ()
    peer_url: str = ""
    initial_cluster: tuple[tuple[str, str], ...] = ()
    token: str = "etcd-cluster"
    cert_file: str | None = None
    key_file: str | None = None
    trusted_ca_file: str | None = None
    peer_cert_file: str | None = None
    peer_key_file: str | None = None
    peer_trusted_ca_file: str | None = None
    metrics_urls: tuple[str, ...] = ()

    @property
    def client_url(self) -> str:
        urls = self.advertise_client_urls or self.listen_client_urls
        return urls[0] if urls else "http://localhost:2379"


def etcd_config(flags: Mapping[str, str], where: str) -> EtcdConfig:
    """Flags (from argv or ETCD_* variables) → EtcdConfig, with etcd's own defaults."""
    name = flags.get("name") or "default"
    try:
        initial = tuple(parse_initial_cluster(flags.get("initial-cluster", "")))
    except ValueError as exc:
        raise ManifestError(where, str(exc)) from exc
    peers = split_urls(flags.get("initial-advertise-peer-urls"))
    if not peers:
        peers = [url for n, url in initial if n == name]
    return EtcdConfig(
        name=name,
        data_dir=flags.get("data-dir") or f"{name}.etcd",
        advertise_client_urls=tuple(split_urls(flags.get("advertise-client-urls"))),
        listen_client_urls=tuple(split_urls(flags.get("listen-client-urls"))),
        peer_url=peers[0] if peers else "http://localhost:2380",
        initial_cluster=initial,
        token=flags.get("initial-cluster-token") or "etcd-cluster",
        cert_file=flags.get("cert-file") or None,
        key_file=flags.get("key-file") or None,
        trusted_ca_file=flags.get("trusted-ca-file") or None,
        peer_cert_file=flags.get("peer-cert-file") or None,
        peer_key_file=flags.get("peer-key-file") or None,
        peer_trusted_ca_file=flags.get("peer-trusted-ca-file") or None,
        metrics_urls=tuple(split_urls(flags.get("listen-metrics-urls"))),
    )


@dataclass(frozen=True)
class ApiserverConfig:
    """The part of kube-apiserver's command line that is about etcd."""

    etcd_servers: tuple[str, ...] = ()
    etcd_cafile: str | None = None
    etcd_certfile: str | None = None
    etcd_keyfile: str | None = None


def apiserver_config(flags: Mapping[str, str]) -> ApiserverConfig:
    return ApiserverConfig(
        etcd_servers=tuple(split_urls(flags.get("etcd-servers"))),
        etcd_cafile=flags.get("etcd-cafile") or None,
        etcd_certfile=flags.get("etcd-certfile") or None,
        etcd_keyfile=flags.get("etcd-keyfile") or None,
    )


# --------------------------------------------------------------------------- static pods


@dataclass(frozen=True)
class StaticPod:
    name: str
    container: str
    argv: tuple[str, ...]
    host_paths: tuple[str, ...] = ()

    @property
    def flags(self) -> dict[str, str]:
        return parse_flags(self.argv)


def parse_static_pod(text: str, path: str, component: str) -> StaticPod:
    """A kubeadm static pod manifest → the `component` container's command + args."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ManifestError(path, f"not valid YAML ({_yaml_where(exc)})") from exc
    if not isinstance(doc, dict) or doc.get("kind") != "Pod":
        raise ManifestError(path, "not a Kubernetes Pod manifest (kind: Pod missing)")
    spec = doc.get("spec")
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not isinstance(containers, list) or not containers:
        raise ManifestError(path, "spec.containers is missing or empty")
    box = _pick_container(containers, component, path)
    argv = _string_list(box.get("command"), path, "command") + _string_list(
        box.get("args"), path, "args"
    )
    if not argv:
        raise ManifestError(path, f"container {box.get('name')!r} has no command or args")
    meta = doc.get("metadata")
    name = str(meta.get("name", "")) if isinstance(meta, dict) else ""
    vols = _host_paths(spec) if isinstance(spec, dict) else []
    return StaticPod(name, str(box.get("name", "")), tuple(argv), tuple(vols))


def _pick_container(containers: list[Any], component: str, path: str) -> dict[str, Any]:
    boxes = [c for c in containers if isinstance(c, dict)]
    for box in boxes:
        if box.get("name") == component:
            return box
    for box in boxes:
        cmd = box.get("command")
        if isinstance(cmd, list) and cmd and str(cmd[0]).rsplit("/", 1)[-1] == component:
            return box
    if len(boxes) == 1:
        return boxes[0]
    raise ManifestError(path, f"no container named {component!r}")


def _string_list(value: Any, path: str, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ManifestError(path, f"container {what} is not a list of strings")
    return [str(v) for v in value]


def _host_paths(spec: dict[str, Any]) -> list[str]:
    out = []
    for vol in spec.get("volumes") or []:
        if isinstance(vol, dict) and isinstance(vol.get("hostPath"), dict):
            p = vol["hostPath"].get("path")
            if isinstance(p, str):
                out.append(p)
    return out


def _yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "parse error"
    if mark is None:
        return str(problem)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


# --------------------------------------------------------------------------- env files


_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def parse_env_file(text: str, path: str) -> dict[str, str]:
    """`KEY=value` lines (systemd EnvironmentFile, /etc/etcd/etcd.conf, /etc/default/etcd).

    Comments (#, ;) and blank lines are skipped; values may be single- or double-quoted.
    A line that is neither raises ManifestError with its line number.
    """
    env: dict[str, str] = {}
    for no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        m = _ENV_LINE.match(line)
        if m is None:
            raise ManifestError(path, f"line {no} is not KEY=value: {stripped[:60]!r}")
        env[m.group(1)] = _unquote(m.group(2), path, no)
    return env


def _unquote(value: str, path: str, no: int) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    if value[:1] in "\"'":
        raise ManifestError(path, f"line {no}: unterminated quote")
    return value.split(" #", 1)[0].rstrip()


def etcd_env_flags(env: Mapping[str, str]) -> dict[str, str]:
    """ETCD_INITIAL_CLUSTER=… → {"initial-cluster": …}: etcd reads its flags from these.

    ETCDCTL_* variables are etcdctl's, not etcd's, and are left out.
    """
    out: dict[str, str] = {}
    for key, value in env.items():
        if key.startswith("ETCD_") and not key.startswith("ETCDCTL_"):
            out[key[5:].lower().replace("_", "-")] = value
    return out


# --------------------------------------------------------------------------- systemd units


@dataclass(frozen=True)
class SystemdUnit:
    exec_start: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    environment_files: tuple[str, ...] = ()  # a leading "-" (optional) is removed


def parse_systemd_unit(text: str, path: str, hostname: str = "localhost") -> SystemdUnit:
    """ExecStart (continuations joined, `-@+!:` prefixes dropped, the last one wins),
    Environment= and EnvironmentFile= of a `[Service]` section, with systemd's `%`
    specifiers expanded (Debian's unit says `ETCD_NAME=%H`, `EnvironmentFile=-/etc/default/%p`).
    """
    section = ""
    exec_start: list[str] = []
    env: dict[str, str] = {}
    files: list[str] = []
    for no, line in _unit_lines(text):
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, eq, value = line.partition("=")
        if not eq:
            raise ManifestError(path, f"line {no} is not Key=value: {line[:60]!r}")
        if section != "Service":
            continue
        key = key.strip()
        value = expand_specifiers(value.strip(), path.rsplit("/", 1)[-1], hostname)
        if key == "ExecStart":
            exec_start = _exec_words(value, path, no)
        elif key == "Environment":
            env.update(_env_assignments(value, path, no))
        elif key == "EnvironmentFile" and value:
            files.append(value)
    return SystemdUnit(tuple(exec_start), env, tuple(files))


def expand_specifiers(value: str, unit: str, hostname: str) -> str:
    """systemd's %H (host), %n/%N (unit name with/without suffix), %p/%i (prefix/instance
    of `prefix@instance.service`), %% (a percent sign); others are left as written."""
    stem = unit.rsplit(".", 1)[0]
    prefix, _, instance = stem.partition("@")
    table = {"H": hostname, "n": unit, "N": stem, "p": prefix, "i": instance, "%": "%"}
    return re.sub(r"%(.)", lambda m: table.get(m.group(1), m.group(0)), value)


def _unit_lines(text: str) -> Iterable[tuple[int, str]]:
    pending, start = "", 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if not pending:
            start = no
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending.strip():
        yield start, pending.strip()


def _exec_words(value: str, path: str, no: int) -> list[str]:
    value = value.lstrip("-@+!:")
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise ManifestError(path, f"line {no}: ExecStart cannot be split ({exc})") from exc


def _env_assignments(value: str, path: str, no: int) -> dict[str, str]:
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise ManifestError(path, f"line {no}: Environment cannot be split ({exc})") from exc
    out = {}
    for word in words:
        k, eq, v = word.partition("=")
        if eq and k:
            out[k] = v
    return out


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_exec(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """systemd's ExecStart expansion: a whole-word `$VAR` splits into words, `${VAR}`
    substitutes in place; unknown variables expand to nothing."""
    out: list[str] = []
    for word in argv:
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if whole:
            out.extend(env.get(whole.group(1), "").split())
            continue
        out.append(_VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), word))
    return out


def optional_env_file(entry: str) -> tuple[str, bool]:
    """`EnvironmentFile=-/etc/default/etcd` → ("/etc/default/etcd", optional=True)."""
    return (entry[1:], True) if entry.startswith("-") else (entry, False)
