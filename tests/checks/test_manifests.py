"""Pure parsing of kubeadm manifests, systemd units and etcd.conf (no I/O)."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blackstart.checks.formats.manifests import (
    ManifestError,
    apiserver_config,
    etcd_config,
    etcd_env_flags,
    expand_exec,
    parse_env_file,
    parse_flags,
    parse_initial_cluster,
    parse_static_pod,
    parse_systemd_unit,
)

# A kubeadm v1.28 stacked-etcd manifest. 192.0.2.0/24 is TEST-NET-1: never dialed.
ETCD_YAML = """\
apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/etcd.advertise-client-urls: https://192.0.2.11:2379
  labels:
    component: etcd
    tier: control-plane
  name: etcd-cp1
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://192.0.2.11:2379
    - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    - --client-cert-auth=true
    - --data-dir=/var/lib/etcd
    - --experimental-initial-corrupt-check=true
    - --initial-advertise-peer-urls=https://192.0.2.11:2380
    - --initial-cluster=cp1=https://192.0.2.11:2380,cp2=https://192.0.2.12:2380,cp3=https://192.0.2.13:2380
    - --initial-cluster-state=existing
    - --key-file=/etc/kubernetes/pki/etcd/server.key
    - --listen-client-urls=https://127.0.0.1:2379,https://192.0.2.11:2379
    - --listen-metrics-urls=http://127.0.0.1:2381
    - --listen-peer-urls=https://192.0.2.11:2380
    - --name=cp1
    - --peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt
    - --peer-client-cert-auth=true
    - --peer-key-file=/etc/kubernetes/pki/etcd/peer.key
    - --peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    - --snapshot-count=10000
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    image: registry.k8s.io/etcd:3.5.9-0
    name: etcd
  hostNetwork: true
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki/etcd
      type: DirectoryOrCreate
    name: etcd-certs
  - hostPath:
      path: /var/lib/etcd
      type: DirectoryOrCreate
    name: etcd-data
status: {}
"""

APISERVER_YAML = """\
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver-cp1
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=192.0.2.11
    - --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt
    - --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt
    - --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key
    - --etcd-servers=https://127.0.0.1:2379
    name: kube-apiserver
"""

UNIT = """\
[Unit]
Description=etcd key-value store
Documentation=https://github.com/etcd-io/etcd
After=network-online.target

[Service]
Type=notify
EnvironmentFile=-/etc/etcd/etcd.conf
Environment="ETCD_UNSUPPORTED_ARCH=arm64" GOMAXPROCS=2
ExecStart=
ExecStart=/usr/local/bin/etcd \\
  --name ${ETCD_NAME} \\
  --data-dir=/var/lib/etcd \\
  $ETCD_EXTRA
Restart=always

[Install]
WantedBy=multi-user.target
"""

ETCD_CONF = """\
# /etc/etcd/etcd.conf
ETCD_NAME="infra1"
ETCD_DATA_DIR='/var/lib/etcd/infra1.etcd'
export ETCD_LISTEN_CLIENT_URLS=https://192.0.2.21:2379
ETCD_ADVERTISE_CLIENT_URLS=https://192.0.2.21:2379   # the one clients use
ETCD_INITIAL_CLUSTER="infra1=https://192.0.2.21:2380,infra2=https://192.0.2.22:2380"
ETCD_INITIAL_CLUSTER_TOKEN=prod-etcd
ETCDCTL_API=3
"""


def test_etcd_manifest_gives_every_flag() -> None:
    pod = parse_static_pod(ETCD_YAML, "/m/etcd.yaml", "etcd")
    assert pod.name == "etcd-cp1" and pod.container == "etcd"
    cfg = etcd_config(pod.flags, "/m/etcd.yaml")
    assert cfg.name == "cp1"
    assert cfg.data_dir == "/var/lib/etcd"
    assert cfg.client_url == "https://192.0.2.11:2379"
    assert cfg.listen_client_urls == ("https://127.0.0.1:2379", "https://192.0.2.11:2379")
    assert cfg.peer_url == "https://192.0.2.11:2380"
    assert [n for n, _ in cfg.initial_cluster] == ["cp1", "cp2", "cp3"]
    assert cfg.token == "etcd-cluster"  # kubeadm passes no token
    assert cfg.cert_file == "/etc/kubernetes/pki/etcd/server.crt"
    assert cfg.peer_trusted_ca_file == "/etc/kubernetes/pki/etcd/ca.crt"
    assert cfg.metrics_urls == ("http://127.0.0.1:2381",)
    assert "/var/lib/etcd" in pod.host_paths


def test_apiserver_manifest_gives_etcd_client() -> None:
    pod = parse_static_pod(APISERVER_YAML, "/m/kube-apiserver.yaml", "kube-apiserver")
    api = apiserver_config(pod.flags)
    assert api.etcd_servers == ("https://127.0.0.1:2379",)
    assert api.etcd_certfile == "/etc/kubernetes/pki/apiserver-etcd-client.crt"


def test_args_are_appended_to_command() -> None:
    text = ("kind: Pod\nspec:\n  containers:\n  - name: etcd\n    command: [etcd]\n"
            "    args: [--name=x, --data-dir, /d]\n")
    cfg = etcd_config(parse_static_pod(text, "p", "etcd").flags, "p")
    assert (cfg.name, cfg.data_dir) == ("x", "/d")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("kind: Pod\nspec: [unclosed", "not valid YAML"),
        ("just a string", "kind: Pod"),
        ("kind: Pod\nspec: {}\n", "spec.containers"),
        ("kind: Pod\nspec:\n  containers:\n  - name: etcd\n", "no command"),
        ("kind: Pod\nspec:\n  containers:\n  - name: etcd\n    command: {a: 1}\n", "not a list"),
        ("kind: Pod\nspec:\n  containers:\n  - name: a\n    command: [a]\n"
         "  - name: b\n    command: [b]\n", "no container named 'etcd'"),
    ],
)
def test_bad_manifest_names_the_file(text: str, needle: str) -> None:
    with pytest.raises(ManifestError) as err:
        parse_static_pod(text, "/etc/kubernetes/manifests/etcd.yaml", "etcd")
    assert str(err.value).startswith("/etc/kubernetes/manifests/etcd.yaml: ")
    assert needle in str(err.value)


def test_yaml_error_gives_line() -> None:
    with pytest.raises(ManifestError, match=r"line \d+"):
        parse_static_pod("kind: Pod\nspec:\n  - a\n b: [\n", "x.yaml", "etcd")


def test_bad_initial_cluster_names_the_file() -> None:
    with pytest.raises(ManifestError, match="/m/etcd.yaml: .*not name=URL"):
        etcd_config({"initial-cluster": "cp1=https://a:2380,oops"}, "/m/etcd.yaml")


def test_flag_forms() -> None:
    assert parse_flags(["etcd", "--name", "a", "-data-dir=/d", "--debug", "--x=1=2", "--x=3"]) \
        == {"name": "a", "data-dir": "/d", "debug": "true", "x": "3"}


def test_defaults_follow_etcd() -> None:
    cfg = etcd_config({}, "p")
    assert (cfg.name, cfg.data_dir, cfg.client_url) == (
        "default", "default.etcd", "http://localhost:2379")


def test_etcd_conf() -> None:
    env = parse_env_file(ETCD_CONF, "/etc/etcd/etcd.conf")
    flags = etcd_env_flags(env)
    assert "api" not in flags  # ETCDCTL_API is etcdctl's
    cfg = etcd_config(flags, "/etc/etcd/etcd.conf")
    assert cfg.name == "infra1"
    assert cfg.data_dir == "/var/lib/etcd/infra1.etcd"
    assert cfg.client_url == "https://192.0.2.21:2379"
    assert cfg.peer_url == "https://192.0.2.21:2380"  # from --initial-cluster
    assert cfg.token == "prod-etcd"


@pytest.mark.parametrize("line", ["NOT A LINE", "ETCD_NAME=\"unterminated"])
def test_bad_env_file_names_file_and_line(line: str) -> None:
    with pytest.raises(ManifestError, match=r"^/etc/etcd/etcd.conf: line 2"):
        parse_env_file(f"# ok\n{line}\n", "/etc/etcd/etcd.conf")


def test_systemd_unit() -> None:
    unit = parse_systemd_unit(UNIT, "/etc/systemd/system/etcd.service")
    assert unit.environment_files == ("-/etc/etcd/etcd.conf",)
    assert unit.environment == {"ETCD_UNSUPPORTED_ARCH": "arm64", "GOMAXPROCS": "2"}
    argv = expand_exec(unit.exec_start, {"ETCD_NAME": "infra1",
                                         "ETCD_EXTRA": "--debug --log-level=info"})
    assert argv == ["/usr/local/bin/etcd", "--name", "infra1", "--data-dir=/var/lib/etcd",
                    "--debug", "--log-level=info"]


def test_bad_unit_names_file() -> None:
    with pytest.raises(ManifestError, match=r"^/u/etcd.service: line 2"):
        parse_systemd_unit("[Service]\nnonsense here\n", "/u/etcd.service")
    with pytest.raises(ManifestError, match="cannot be split"):
        parse_systemd_unit("[Service]\nExecStart=/bin/etcd 'open\n", "/u/etcd.service")


# --------------------------------------------------------------------------- properties

names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
values = st.text(st.characters(whitelist_categories=("L", "N"), whitelist_characters="/:.,_-="),
                 min_size=1, max_size=40).filter(lambda v: not v.startswith("-"))
flag_dicts = st.dictionaries(names, values, max_size=12)


@given(flag_dicts)
def test_flags_round_trip_through_argv(flags: dict[str, str]) -> None:
    argv = ["etcd"] + [f"--{k}={v}" for k, v in flags.items()]
    assert parse_flags(argv) == flags


@given(flag_dicts)
def test_flags_round_trip_through_a_manifest(flags: dict[str, str]) -> None:
    import yaml

    doc = {"kind": "Pod", "spec": {"containers": [
        {"name": "etcd", "command": ["etcd", *[f"--{k}={v}" for k, v in flags.items()]]}]}}
    assert parse_static_pod(yaml.safe_dump(doc), "p", "etcd").flags == flags


@given(st.dictionaries(st.from_regex(r"ETCD_[A-Z][A-Z0-9_]{0,15}", fullmatch=True),
                       values, max_size=10))
def test_env_file_round_trip(env: dict[str, str]) -> None:
    text = "\n".join(f'{k}="{v}"' for k, v in env.items())
    assert parse_env_file(text, "p") == env


@given(st.lists(values, max_size=8))
def test_unit_exec_round_trip(words: list[str]) -> None:
    argv = ["/usr/bin/etcd", *words]
    text = "[Service]\nExecStart=" + " \\\n  ".join(shlex.quote(w) for w in argv) + "\n"
    assert parse_systemd_unit(text, "p").exec_start == tuple(argv)


@given(st.text(max_size=300))
def test_garbage_never_escapes_as_another_exception(text: str) -> None:
    for parse in (lambda: parse_static_pod(text, "p", "etcd"),
                  lambda: parse_env_file(text, "p"),
                  lambda: parse_systemd_unit(text, "p")):
        try:
            parse()
        except ManifestError as exc:
            assert str(exc).startswith("p: ")


@given(st.lists(st.tuples(names, st.from_regex(r"https://127\.0\.0\.[1-9]:2380",
                                                fullmatch=True)), min_size=1, max_size=7,
                unique_by=lambda t: t[0]))
def test_initial_cluster_round_trip(pairs: list[tuple[str, str]]) -> None:
    assert parse_initial_cluster(",".join(f"{n}={u}" for n, u in pairs)) == pairs


DEBIAN_UNIT = """\
[Service]
Environment=DAEMON_ARGS=
Environment=ETCD_NAME=%H
Environment=ETCD_DATA_DIR=/var/lib/etcd/default
EnvironmentFile=-/etc/default/%p
ExecStart=/usr/bin/etcd $DAEMON_ARGS
"""


def test_debian_unit_specifiers() -> None:
    unit = parse_systemd_unit(DEBIAN_UNIT, "/lib/systemd/system/etcd.service", hostname="cp7")
    assert unit.environment["ETCD_NAME"] == "cp7"
    assert unit.environment_files == ("-/etc/default/etcd",)
    assert expand_exec(unit.exec_start, unit.environment) == ["/usr/bin/etcd"]


def test_specifiers_of_a_template_instance() -> None:
    from blackstart.checks.formats.manifests import expand_specifiers

    assert expand_specifiers("%p %i %n %N 100%% %Z", "etcd@main.service", "h") == \
        "etcd main etcd@main.service etcd@main 100% %Z"
