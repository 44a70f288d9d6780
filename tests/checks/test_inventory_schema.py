"""blackstart.toml against its schema (checks.discovery.toml_schema, pydantic v2): one
message per bad field with its place in the file, all of them at once; absolute paths;
no system dir as a data dir; ports 1..65535; every name a table uses must exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from blackstart.checks.discovery import InventoryError
from blackstart.checks.discovery.inventory import load_inventory
from blackstart.checks.discovery.toml_file import cluster_from_toml
from blackstart.checks.discovery.toml_schema import validate

GOOD = """\
[cluster]
name = "prod"
state_dir = "/srv/blackstart"

[[nodes]]
name = "cp1"

[[nodes]]
name = "cp2"
ssh = { host = "127.0.32.2", port = 2222, user = "ops" }

[[members]]
name = "etcd1"
node = "cp1"
client_url = "https://127.0.32.1:2379"
peer_url = "https://127.0.32.1:2380"
data_dir = "/var/lib/etcd"

[[members]]
name = "etcd2"
node = "cp2"
client_url = "https://127.0.32.2:2379"
peer_url = "https://127.0.32.2:2380"
data_dir = "/var/lib/etcd"

[[services]]
node = "cp2"
name = "etcd"
kind = "systemd"
unit = "etcd.service"
member = "etcd2"
"""


def problems(text: str) -> list[str]:
    import tomllib

    doc, found = validate(tomllib.loads(text))
    assert (doc is None) == bool(found)
    return found


def test_the_good_file_has_no_problem() -> None:
    assert problems(GOOD) == []


@pytest.mark.parametrize(("old", "new", "line"), [
    ('peer_url = "https://127.0.32.2:2380"', 'peer_url = "https://127.0.32.2:abc"',
     "members[1].peer_url: port 'abc' is not a number"),
    ('client_url = "https://127.0.32.1:2379"', 'client_url = "https://127.0.32.1:70000"',
     "members[0].client_url: port 70000 is not in 1..65535"),
    ("port = 2222", "port = 70000", "nodes[1].ssh.port: port 70000 is not in 1..65535"),
    ("port = 2222", "port = 0", "nodes[1].ssh.port: port 0 is not in 1..65535"),
    ("port = 2222", 'port = "2222"', "nodes[1].ssh.port: must be an integer"),
    ('data_dir = "/var/lib/etcd"\n\n[[members]]', 'data_dir = "/"\n\n[[members]]',
     "members[0].data_dir: '/' is a system directory, not a data directory"),
    ('data_dir = "/var/lib/etcd"\n\n[[members]]', 'data_dir = "/etc/"\n\n[[members]]',
     "members[0].data_dir: '/etc/' is a system directory, not a data directory"),
    ('data_dir = "/var/lib/etcd"\n\n[[members]]', 'data_dir = "var/lib/etcd"\n\n[[members]]',
     "members[0].data_dir: must be an absolute path, got 'var/lib/etcd'"),
    ('state_dir = "/srv/blackstart"', 'state_dir = "state"',
     "cluster.state_dir: must be an absolute path, got 'state'"),
    ('state_dir = "/srv/blackstart"', 'state_dir = "/var/lib"',
     "cluster.state_dir: '/var/lib' is a system directory, not a data directory"),
    ('node = "cp2"\nname = "etcd"', 'node = "cp9"\nname = "etcd"',
     "services[0].node: 'cp9' is not the name of any [[nodes]] (known: cp1, cp2)"),
    ('member = "etcd2"', 'member = "etcd7"',
     "services[0].member: 'etcd7' is not the name of any [[members]]"),
    ('kind = "systemd"', 'kind = "upstart"',
     "services[0].kind: 'upstart' is not one of 'command', 'systemd' or 'static-pod'"),
    ('[[nodes]]\nname = "cp1"', '[[nodes]]\nname = "cp1"\netcdctl = "bin/etcdctl"',
     "nodes[0].etcdctl: must be a name in PATH or an absolute path, got 'bin/etcdctl'"),
    ('name = "prod"', 'name = ""', "cluster.name: must not be empty"),
])
def test_one_message_per_bad_field_with_its_path(old: str, new: str, line: str) -> None:
    assert old in GOOD
    found = problems(GOOD.replace(old, new, 1))
    assert any(p.startswith(line) for p in found), found
    assert len(found) == 1, found


def test_every_bad_field_at_once_and_the_file_named(tmp_path: Path) -> None:
    text = (GOOD.replace('peer_url = "https://127.0.32.2:2380"',
                         'peer_url = "https://127.0.32.2:abc"')
            .replace("port = 2222", "port = 70000")
            .replace('data_dir = "/var/lib/etcd"\n\n[[members]]', 'data_dir = "/"\n\n[[members]]'))
    path = tmp_path / "blackstart.toml"
    path.write_text(text)
    with pytest.raises(InventoryError) as err:
        load_inventory(config=str(path), env={})
    msg = str(err.value)
    assert msg.startswith(f"{path}: 3 problems:")
    for line in ("members[1].peer_url: port 'abc' is not a number",
                 "nodes[1].ssh.port: port 70000 is not in 1..65535",
                 "members[0].data_dir: '/' is a system directory"):
        assert re.search(rf"^  {re.escape(line)}", msg, re.M), msg


def test_a_name_used_twice_and_what_then_points_nowhere() -> None:
    found = problems(GOOD.replace('name = "cp2"', 'name = "cp1"', 1))
    assert found[0] == "nodes[1].name: 'cp1' is used by another [[nodes]] too"
    assert "members[1].node: 'cp2' is not the name of any [[nodes]] (known: cp1)" in found


def test_etcdutl_may_be_empty_for_etcd_34_nodes() -> None:
    import tomllib

    data = tomllib.loads(GOOD.replace('[[nodes]]\nname = "cp1"',
                                      '[[nodes]]\nname = "cp1"\netcdutl = ""'))
    cluster = cluster_from_toml(data, "/x/blackstart.toml")
    assert cluster.node("cp1").etcdutl == ""
    assert cluster.node("cp2").ssh is not None and cluster.node("cp2").ssh.port == 2222


def test_ipv6_and_portless_urls_are_accepted() -> None:
    text = GOOD.replace("https://127.0.32.1:2379", "https://[::1]:2379").replace(
        "https://127.0.32.1:2380", "https://127.0.32.1")
    assert problems(text) == []


def test_tls_tables_need_a_ca() -> None:
    text = GOOD.replace('[[nodes]]\nname = "cp1"',
                        '[client]\ncert = "/pki/c.crt"\nkey = "/pki/c.key"\n\n'
                        '[[nodes]]\nname = "cp1"', 1)
    assert problems(text) == ["client: missing 'ca' (or 'cacert')"]
