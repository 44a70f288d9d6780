"""Discovery on a master: `--root` never reaches this machine's own files, and the other
masters of --initial-cluster become SSH nodes with this node's key and known_hosts."""

from __future__ import annotations

import textwrap
from pathlib import Path

from blackstart.checks.discovery import peers
from blackstart.checks.discovery.inventory import discover

HOST_PATHS = "/etc/passwd"  # exists on every host; never under a test's root
MANIFEST = """\
kind: Pod
metadata: {name: etcd, namespace: kube-system}
spec:
  containers:
  - name: etcd
    command:
    - etcd
    - --name=m1
    - --data-dir=/var/lib
    - --cert-file=/etc/passwd
    - --key-file=/etc/passwd
    - --trusted-ca-file=/etc/passwd
    - --peer-cert-file=/etc/passwd
    - --peer-key-file=/etc/passwd
    - --peer-trusted-ca-file=/etc/passwd
    - --advertise-client-urls=https://127.0.77.1:2379
    - --initial-advertise-peer-urls=https://127.0.77.1:2380
    - --initial-cluster=m1=https://127.0.77.1:2380,m2=https://127.0.77.2:2380,m3=https://127.0.77.3:2380
"""


def _master(root: Path, ssh: bool = False) -> Path:
    man = root / "etc/kubernetes/manifests/etcd.yaml"
    man.parent.mkdir(parents=True)
    man.write_text(MANIFEST)
    if ssh:
        d = root / "root/.ssh"
        d.mkdir(parents=True)
        (d / "id_ed25519").write_text("key")
        (d / "known_hosts").write_text("127.0.77.2 ssh-ed25519 AAAA\n")
    return root


def test_root_never_falls_back_to_this_machines_paths(tmp_path: Path) -> None:
    root = _master(tmp_path / "m1")
    c = discover(str(root))
    m = c.members[0]
    # Named by the manifest, missing under the root, present on this host: still the
    # root's path (a missing file is a finding), never the host's.
    assert m.data_dir == f"{root}/var/lib"
    assert m.server is not None and m.server.cert == f"{root}/etc/passwd"
    assert m.peer is not None and m.peer.ca == f"{root}/etc/passwd"
    for spec in c.certificates:
        assert spec.path.startswith(f"{root}/"), spec
    assert all(not d.startswith("/backup") and not d.startswith("/var/") for n in c.nodes
               for d in n.backup_dirs)


def test_other_masters_without_a_key_have_no_access(tmp_path: Path) -> None:
    c = discover(str(_master(tmp_path / "m1")))
    assert [(n.name, n.has_access, n.ssh) for n in c.nodes[1:]] == [
        ("m2", False, None), ("m3", False, None)]


def test_other_masters_are_ssh_nodes_with_this_nodes_key(tmp_path: Path) -> None:
    root = _master(tmp_path / "m1", ssh=True)
    c = discover(str(root))
    local, m2, m3 = c.nodes
    assert local.ssh is None and local.has_access
    assert m2.ssh is not None and m2.has_access
    assert (m2.ssh.host, m2.ssh.port, m2.ssh.user) == ("127.0.77.2", 22, "root")
    assert m2.ssh.key_file == f"{root}/root/.ssh/id_ed25519"
    assert m2.ssh.known_hosts == f"{root}/root/.ssh/known_hosts"
    assert m3.ssh is not None and m3.ssh.host == "127.0.77.3"
    # their files are named on *their* filesystem: kubeadm's paths as written
    assert c.members[1].data_dir == "/var/lib"


def test_ssh_config_port_is_honoured() -> None:
    text = textwrap.dedent("""\
        Host 127.0.77.2 m2
          Port 2222
        Host *
          User root
        """)
    assert peers.ssh_port(text, "127.0.77.2") == 2222
    assert peers.ssh_port(text, "m2") == 2222
    assert peers.ssh_port(text, "127.0.77.3") == 22
    assert peers.ssh_port("", "x") == 22


def test_the_other_masters_certificates_are_listed_at_their_own_paths(tmp_path: Path) -> None:
    """Their expired cert must be seen and renewable from this node (`certs renew --member
    m2`): kubeadm's files, as written, on each master blackstart can reach. Red before:
    only this node's certificates were listed."""
    root = _master(tmp_path / "m1", ssh=True)
    c = discover(str(root))
    by_node = {n: [(s.role, s.path, s.member) for s in c.certificates if s.node == n]
               for n in ("m1", "m2", "m3")}
    assert ("etcd-server", "/etc/passwd", "m2") in by_node["m2"]
    assert ("etcd-peer", "/etc/passwd", "m3") in by_node["m3"]
    assert all(p.startswith(f"{root}/") for _, p, _ in by_node["m1"])
    # a master without a key is not read: nothing listed there
    bare = discover(str(_master(tmp_path / "n1")))
    assert {s.node for s in bare.certificates} == {"m1"}
