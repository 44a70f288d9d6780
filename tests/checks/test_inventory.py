"""checks.discovery.inventory: blackstart.toml, etcdctl flags/env, discovery from a node's root."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from blackstart.checks.discovery.inventory import InventoryError, discover, load_inventory

TOML = """\
[cluster]
name = "prod"
token = "tok-1"
state_dir = "/srv/bs/state"

[client]
cacert = "/pki/ca.crt"
cert = "/pki/hc.crt"
key = "/pki/hc.key"

[retention]
keep = 5

[[nodes]]
name = "cp1"
backup_dirs = ["/backup/etcd"]
etcdutl = "/opt/etcd/etcdutl"

[[nodes]]
name = "cp2"
ssh = { host = "127.0.0.52", port = 2222, user = "ops", key = "/k", known_hosts = "/kh" }

[[members]]
name = "cp1"
node = "cp1"
client_url = "https://127.0.0.51:2379"
peer_url = "https://127.0.0.51:2380"
metrics_url = "http://127.0.0.51:2381"
data_dir = "/var/lib/etcd"
manifest = "/etc/kubernetes/manifests/etcd.yaml"
server = { cert = "/pki/server.crt", key = "/pki/server.key", ca = "/pki/ca.crt" }

[[members]]
name = "cp2"
node = "cp2"
client_url = "https://127.0.0.52:2379"
peer_url = "https://127.0.0.52:2380"
data_dir = "/var/lib/etcd"
unit = "etcd.service"

[[certificates]]
node = "cp1"
role = "etcd-server"
path = "/pki/server.crt"
key = "/pki/server.key"
ca = "/pki/ca.crt"
member = "cp1"

[[logs]]
node = "cp1"
kind = "journald"
unit = "kube-apiserver"

[[services]]
node = "cp2"
name = "etcd"
kind = "systemd"
unit = "etcd.service"
member = "cp2"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_toml_maps_onto_the_model(tmp_path: Path) -> None:
    c = load_inventory(config=str(write(tmp_path / "b.toml", TOML)), env={})
    assert (c.name, c.token, c.state_dir) == ("prod", "tok-1", "/srv/bs/state")
    assert c.source == str(tmp_path / "b.toml")
    assert c.client is not None and c.client.ca == "/pki/ca.crt"
    assert c.retention.keep == 5 and c.retention.hot_days == 7
    cp1, cp2 = c.nodes
    assert cp1.is_local and cp1.backup_dirs == ("/backup/etcd",) and cp1.etcdutl.endswith("l")
    assert cp2.ssh is not None and (cp2.ssh.port, cp2.ssh.user) == (2222, "ops")
    m1, m2 = c.members
    assert m1.server is not None and m1.server.key == "/pki/server.key"
    assert m1.metrics_url == "http://127.0.0.51:2381" and m2.metrics_url is None
    assert m2.unit == "etcd.service"
    assert c.certificates[0].member == "cp1"
    assert c.logs[0].kind == "journald" and c.services[0].kind == "systemd"
    assert c.quorum == 2


@pytest.mark.parametrize(("change", "needle"), [
    (lambda t: t.replace('name = "prod"\n', ""), "cluster.name: missing"),
    (lambda t: t.replace("[cluster]", "[clusterx]"), "cluster: missing"),
    (lambda t: t.replace('client_url = "https://127.0.0.52:2379"\n', ""),
     "members[1].client_url: missing"),
    (lambda t: t.replace('client_url = "https://127.0.0.52:2379"',
                         'client_url = "127.0.0.52"'), "is not an http(s)://host:port URL"),
    (lambda t: t.replace('node = "cp2"\nclient_url', 'node = "cp9"\nclient_url'),
     "members[1].node: 'cp9' is not the name of any [[nodes]]"),
    (lambda t: t.replace('kind = "journald"', 'kind = "syslog"'),
     "logs[0].kind: 'syslog' is not one of"),
    (lambda t: t.replace("keep = 5", 'keep = "five"'), "retention.keep: must be an integer"),
    (lambda t: t.replace('backup_dirs = ["/backup/etcd"]', 'backup_dirs = "/backup"'),
     "nodes[0].backup_dirs: must be a list"),
    (lambda t: t + "\n[[members]]\nname = \n", "not valid TOML"),
])
def test_bad_toml_names_file_and_problem(tmp_path: Path, change, needle: str) -> None:
    path = write(tmp_path / "blackstart.toml", change(TOML))
    with pytest.raises(InventoryError) as err:
        load_inventory(config=str(path), env={})
    assert str(err.value).startswith(str(path))
    assert needle in str(err.value)


def test_missing_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="nope.toml: no such file"):
        load_inventory(config=str(tmp_path / "nope.toml"), env={})


# --------------------------------------------------------------------------- flags / env


@pytest.fixture
def creds(tmp_path: Path) -> dict[str, str]:
    out = {}
    for n in ("ca.crt", "c.crt", "c.key"):
        (tmp_path / n).write_text("x")
        out[n] = str(tmp_path / n)
    return out


def test_endpoints_flags(creds: dict[str, str]) -> None:
    c = load_inventory(endpoints="127.0.0.61:2379,https://127.0.0.62:2379",
                       cacert=creds["ca.crt"], cert=creds["c.crt"], key=creds["c.key"], env={})
    assert c.source == "flags"
    assert [(m.name, m.client_url) for m in c.members] == [
        ("127.0.0.61", "https://127.0.0.61:2379"), ("127.0.0.62", "https://127.0.0.62:2379")]
    assert [n.name for n in c.nodes] == ["local"] and c.nodes[0].is_local
    assert c.client is not None and c.client.cert == creds["c.crt"]


def test_same_host_endpoints_get_distinct_names() -> None:
    c = load_inventory(endpoints="http://127.0.0.1:2379,http://127.0.0.1:22379", env={})
    assert [m.name for m in c.members] == ["127.0.0.1:2379", "127.0.0.1:22379"]
    assert c.client is None


def test_env_variables(creds: dict[str, str], tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./blackstart.toml here
    env = {"ETCDCTL_ENDPOINTS": "https://127.0.0.71:2379", "ETCDCTL_CACERT": creds["ca.crt"],
           "ETCDCTL_CERT": creds["c.crt"], "ETCDCTL_KEY": creds["c.key"]}
    c = load_inventory(env=env)
    assert c.source == "env" and c.members[0].name == "127.0.0.71"
    assert c.client is not None and c.client.key == creds["c.key"]


def test_local_toml_beats_env_but_not_explicit_flags(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "blackstart.toml", TOML)
    monkeypatch.chdir(tmp_path)
    env = {"ETCDCTL_ENDPOINTS": "http://127.0.0.71:2379"}
    assert load_inventory(env=env).name == "prod"
    assert load_inventory(endpoints="http://127.0.0.81:2379", env=env).source == "flags"


@pytest.mark.parametrize(("kw", "needle"), [
    ({"endpoints": "https://127.0.0.1:2379", "cacert": "/nonexistent/ca.crt"},
     "--cacert /nonexistent/ca.crt: no such file"),
    ({"endpoints": "https://127.0.0.1:port"}, "bad port"),
    ({"endpoints": "ftp://127.0.0.1:2379"}, "is not http(s)://host:port"),
    ({"endpoints": " , "}, "no endpoints"),
])
def test_bad_flags(kw: dict[str, str], needle: str) -> None:
    with pytest.raises(InventoryError, match=None) as err:
        load_inventory(env={}, **kw)
    assert needle in str(err.value)


# --------------------------------------------------------------------------- discovery

ETCD_YAML = """\
apiVersion: v1
kind: Pod
metadata: {name: etcd-cp1, namespace: kube-system}
spec:
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.5.9-0
    command:
    - etcd
    - --advertise-client-urls=https://127.0.0.91:2379
    - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    - --client-cert-auth=true
    - --data-dir=/var/lib/etcd
    - --initial-advertise-peer-urls=https://127.0.0.91:2380
    - --initial-cluster=cp1=https://127.0.0.91:2380,cp2=https://127.0.0.92:2380,cp3=https://127.0.0.93:2380
    - --key-file=/etc/kubernetes/pki/etcd/server.key
    - --listen-client-urls=https://127.0.0.1:2379,https://127.0.0.91:2379
    - --listen-metrics-urls=http://127.0.0.1:2381
    - --name=cp1
    - --peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt
    - --peer-key-file=/etc/kubernetes/pki/etcd/peer.key
    - --peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
"""

APISERVER_YAML = """\
apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver-cp1}
spec:
  containers:
  - name: kube-apiserver
    command:
    - kube-apiserver
    - --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt
    - --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt
    - --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key
    - --etcd-servers=https://127.0.0.1:2379
"""

PKI_FILES = ("etcd/ca.crt", "etcd/ca.key", "etcd/server.crt", "etcd/server.key",
             "etcd/peer.crt", "etcd/peer.key", "etcd/healthcheck-client.crt",
             "etcd/healthcheck-client.key", "apiserver-etcd-client.crt",
             "apiserver-etcd-client.key")


@pytest.fixture
def master(tmp_path: Path) -> Path:
    """A kubeadm master's files under a root dir (nothing here is ever dialed)."""
    root = tmp_path / "cp1"
    write(root / "etc/kubernetes/manifests/etcd.yaml", ETCD_YAML)
    write(root / "etc/kubernetes/manifests/kube-apiserver.yaml", APISERVER_YAML)
    write(root / "etc/kubernetes/manifests/kube-scheduler.yaml",
          "kind: Pod\nspec:\n  containers:\n  - name: kube-scheduler\n"
          "    command: [kube-scheduler]\n")
    for f in PKI_FILES:
        write(root / "etc/kubernetes/pki" / f, "pem")
    (root / "var/lib/etcd/member").mkdir(parents=True)
    (root / "backup/etcd").mkdir(parents=True)
    return root


def test_kubeadm_discovery(master: Path) -> None:
    c = load_inventory(root=str(master), env={})
    r = str(master)
    manifest = f"{r}/etc/kubernetes/manifests/etcd.yaml"
    assert c.source == f"discovery: {manifest}"
    assert [m.name for m in c.members] == ["cp1", "cp2", "cp3"]
    assert [(n.name, n.has_access) for n in c.nodes] == [
        ("cp1", True), ("cp2", False), ("cp3", False)]
    cp1, cp2, _ = c.members
    assert cp1.client_url == "https://127.0.0.91:2379"
    assert cp1.peer_url == "https://127.0.0.91:2380"
    assert cp1.data_dir == f"{r}/var/lib/etcd"
    assert cp1.metrics_url == "http://127.0.0.1:2381"
    assert cp1.server is not None and cp1.server.cert == f"{r}/etc/kubernetes/pki/etcd/server.crt"
    assert cp1.peer is not None and cp1.peer.ca == f"{r}/etc/kubernetes/pki/etcd/ca.crt"
    assert cp1.manifest == manifest
    # another master: same layout (kubeadm), its own host, paths as on that node
    assert cp2.client_url == "https://127.0.0.92:2379" and cp2.data_dir == "/var/lib/etcd"
    assert cp2.metrics_url is None
    assert c.client is not None
    assert c.client.cert == f"{r}/etc/kubernetes/pki/apiserver-etcd-client.crt"
    roles = {s.role: s for s in c.certificates}
    assert set(roles) == {"etcd-ca", "etcd-server", "etcd-peer", "etcd-healthcheck-client",
                          "apiserver-etcd-client"}
    assert roles["etcd-server"].member == "cp1" and roles["etcd-server"].path.startswith(r)
    assert [(s.name, s.kind) for s in c.services] == [
        ("etcd", "static-pod"), ("kube-apiserver", "static-pod"),
        ("kube-scheduler", "static-pod")]
    assert c.services[0].manifest == manifest and c.services[0].member == "cp1"
    assert c.logs[0].kind == "cri" and c.logs[0].path == (
        f"{r}/var/log/pods/kube-system_kube-apiserver-*/kube-apiserver/*.log")
    assert c.nodes[0].backup_dirs == (f"{r}/backup/etcd",)
    assert c.token == "etcd-cluster" and c.name == "kubernetes"


def test_kubeadm_discovery_sees_manifests_blackstart_parked(master: Path) -> None:
    """Mid-plan (a restore stopped this master's etcd and apiserver by parking their
    manifests), `resume` / `rollback` with no inventory must still find the same cluster:
    the parked manifests are read, and named by where they live when in place."""
    live, parked = master / "etc/kubernetes/manifests", master / "etc/kubernetes/blackstart-parked"
    parked.mkdir()
    for name in ("etcd.yaml", "kube-apiserver.yaml"):
        (live / name).rename(parked / name)
    write(master / "etc/systemd/system/etcd.service", UNIT)  # must not win over the parked pod
    c = load_inventory(root=str(master), env={})
    assert c.source == f"discovery: {live}/etcd.yaml"
    assert [m.name for m in c.members] == ["cp1", "cp2", "cp3"]
    assert c.members[0].manifest == f"{live}/etcd.yaml"
    assert c.members[1].client_url == "https://127.0.0.92:2379"  # the apiserver's flags
    assert [(s.name, s.manifest) for s in c.services] == [
        ("etcd", f"{live}/etcd.yaml"), ("kube-apiserver", f"{live}/kube-apiserver.yaml"),
        ("kube-scheduler", f"{live}/kube-scheduler.yaml")]


def test_absolute_paths_outside_the_root_are_not_used(master: Path, tmp_path: Path) -> None:
    """A path the manifest names is looked up under the root only, even when a file of that
    name exists on this machine (issue 10: --root never falls back to the host)."""
    real = tmp_path / "elsewhere/server.crt"
    write(real, "pem")
    text = ETCD_YAML.replace("--cert-file=/etc/kubernetes/pki/etcd/server.crt",
                             f"--cert-file={real}")
    write(master / "etc/kubernetes/manifests/etcd.yaml", text)
    c = discover(str(master))
    assert c.members[0].server is not None
    assert c.members[0].server.cert == f"{master}{real}"


def test_manifest_that_is_not_yaml(master: Path) -> None:
    path = write(master / "etc/kubernetes/manifests/etcd.yaml", "kind: Pod\nspec: [oops\n")
    with pytest.raises(InventoryError) as err:
        discover(str(master))
    assert str(err.value).startswith(f"{path}: not valid YAML")


def test_nothing_to_discover(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="no etcd found under .*etcd.yaml"):
        discover(str(tmp_path))
    with pytest.raises(InventoryError, match="no such directory"):
        discover(str(tmp_path / "missing"))


UNIT = """\
[Unit]
Description=etcd
[Service]
Type=notify
EnvironmentFile=/etc/etcd/etcd.conf
ExecStart=/usr/local/bin/etcd --listen-metrics-urls=http://0.0.0.0:2381 \\
    --cert-file=${ETCD_CERT}
[Install]
WantedBy=multi-user.target
"""

CONF = """\
ETCD_NAME=infra1
ETCD_DATA_DIR=/var/lib/etcd/infra1
ETCD_ADVERTISE_CLIENT_URLS=https://127.0.0.95:2379
ETCD_INITIAL_ADVERTISE_PEER_URLS=https://127.0.0.95:2380
ETCD_INITIAL_CLUSTER=infra1=https://127.0.0.95:2380,infra2=https://127.0.0.96:2380
ETCD_INITIAL_CLUSTER_TOKEN=prod
ETCD_CERT=/etc/etcd/pki/server.crt
ETCD_KEY_FILE=/etc/etcd/pki/server.key
ETCD_TRUSTED_CA_FILE=/etc/etcd/pki/ca.crt
"""


def test_systemd_discovery(tmp_path: Path) -> None:
    write(tmp_path / "etc/systemd/system/etcd.service", UNIT)
    write(tmp_path / "etc/etcd/etcd.conf", CONF)
    c = discover(str(tmp_path))
    assert c.source == f"discovery: {tmp_path}/etc/systemd/system/etcd.service"
    m = c.members[0]
    assert (m.name, m.client_url, m.data_dir) == (
        "infra1", "https://127.0.0.95:2379", f"{tmp_path}/var/lib/etcd/infra1")
    assert m.metrics_url == "http://127.0.0.1:2381"  # 0.0.0.0: asked over loopback
    assert m.server is not None and m.server.cert == f"{tmp_path}/etc/etcd/pki/server.crt"
    assert m.unit == "etcd.service"
    assert [x.name for x in c.members] == ["infra1", "infra2"] and c.token == "prod"
    assert [(s.name, s.kind, s.unit) for s in c.services] == [
        ("etcd", "systemd", "etcd.service")]


def test_unit_with_a_missing_environment_file(tmp_path: Path) -> None:
    unit = write(tmp_path / "lib/systemd/system/etcd.service", UNIT)
    with pytest.raises(InventoryError, match=f"{unit}: EnvironmentFile /etc/etcd/etcd.conf"):
        discover(str(tmp_path))
    write(unit, UNIT.replace("EnvironmentFile=/", "EnvironmentFile=-/"))
    assert discover(str(tmp_path)).members[0].name == "default"  # optional: etcd's default


def test_etcd_conf_alone(tmp_path: Path) -> None:
    write(tmp_path / "etc/etcd/etcd.conf", CONF)
    c = discover(str(tmp_path))
    assert c.members[0].name == "infra1" and c.services[0].kind == "systemd"


def test_bad_etcd_conf_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "etc/etcd/etcd.conf", "ETCD_NAME=x\nthis is not it\n")
    with pytest.raises(InventoryError, match=f"^{path}: line 2"):
        discover(str(tmp_path))


# --------------------------------------------------------------------------- the lab


def test_debian_style_unit_with_default_file(tmp_path: Path) -> None:
    write(tmp_path / "lib/systemd/system/etcd.service", """\
        [Service]
        Environment=ETCD_NAME=%H
        Environment=ETCD_DATA_DIR=/var/lib/etcd/default
        EnvironmentFile=-/etc/default/%p
        ExecStart=/usr/bin/etcd $DAEMON_ARGS
        """)
    write(tmp_path / "etc/hostname", "cp4\n")
    write(tmp_path / "etc/default/etcd",
          'DAEMON_ARGS="--listen-client-urls=http://127.0.0.97:2379 '
          '--advertise-client-urls=http://127.0.0.97:2379"\n')
    c = discover(str(tmp_path))
    m = c.members[0]
    assert (m.name, m.client_url) == ("cp4", "http://127.0.0.97:2379")
    assert m.data_dir == f"{tmp_path}/var/lib/etcd/default"


def test_discovery_from_a_running_etcd_process(etcd_bins: dict[str, str],
                                               tmp_path: Path) -> None:
    """On "/" with no manifest or unit, a running etcd's own flags are the model."""
    import subprocess

    from blackstart.checks.discovery.running_processes import from_processes

    url = "http://127.0.8.50:42479"
    proc = subprocess.Popen(
        [etcd_bins["etcd"], "--name", "solo", "--data-dir", str(tmp_path / "solo"),
         "--listen-client-urls", url, "--advertise-client-urls", url,
         "--listen-peer-urls", "http://127.0.8.50:42480",
         "--initial-advertise-peer-urls", "http://127.0.8.50:42480",
         "--initial-cluster", "solo=http://127.0.8.50:42480"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        found = from_processes([proc.pid])
    finally:
        proc.kill()
        proc.wait(10)
    assert found is not None
    assert (found.cfg.name, found.cfg.client_url) == ("solo", url)
    assert found.cfg.data_dir == str(tmp_path / "solo")
    assert found.source.startswith(f"process {proc.pid} ")
    assert from_processes([proc.pid]) is None  # gone
