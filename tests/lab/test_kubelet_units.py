"""The lab kubelet's and node filesystem's pure parts: back-off, pod identity, logs, boot."""

from __future__ import annotations

from pathlib import Path

import pytest

from blackstart.lab import controlplane, crictl, kubelet, nodefs, static_pods

MANIFEST = controlplane.render("kube-scheduler", ["/usr/bin/sleep", "1000"])


def test_backoff_is_immediate_then_10s_doubling_to_5_minutes() -> None:
    delays = [static_pods.backoff_delay(k) for k in range(1, 9)]
    assert delays == [0.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]


def test_pod_from_manifest_names_the_mirror_pod_and_hashes_the_manifest() -> None:
    pod = static_pods.pod_from_manifest(MANIFEST, "/etc/kubernetes/manifests/x.yaml", "master01")
    assert (pod.namespace, pod.name, pod.container) == (
        "kube-system", "kube-scheduler-master01", "kube-scheduler")
    assert pod.command == ["/usr/bin/sleep", "1000"]
    assert pod.grace == 5.0
    changed = MANIFEST.replace("1000", "2000")
    other = static_pods.pod_from_manifest(changed, "/x.yaml", "master01")
    assert other.uid != pod.uid  # a changed manifest is a new pod
    assert static_pods.pod_from_manifest(MANIFEST, "/x.yaml", "master02").uid != pod.uid


def test_a_manifest_without_a_command_is_refused() -> None:
    with pytest.raises(static_pods.ManifestProblem, match="command"):
        static_pods.pod_from_manifest("kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n"
                                  "  - name: a\n    image: x\n", "/m/a.yaml", "n")
    with pytest.raises(static_pods.ManifestProblem, match="not a pod manifest"):
        static_pods.pod_from_manifest("[1, 2", "/m/b.yaml", "n")


def test_restart_count_continues_from_the_log_files(tmp_path: Path) -> None:
    assert static_pods.next_attempt(tmp_path) == 0
    for n in (0, 1, 4):
        (tmp_path / f"{n}.log").write_text("")
    (tmp_path / "0.log.20260101-000000").write_text("")  # a rotated file is not a count
    assert static_pods.next_attempt(tmp_path) == 5


def test_crictl_listing_shows_attempts_states_and_exit_codes() -> None:
    state = {"pods": [{"name": "etcd-master01", "uid": "a" * 32, "container": "etcd",
                       "image": "registry.k8s.io/etcd:3.5.1-0", "containers": [
                           {"id": "1" * 64, "attempt": 0, "created": 100.0, "state": "Exited",
                            "exit_code": 137},
                           {"id": "2" * 64, "attempt": 1, "created": 170.0,
                            "state": "Running", "exit_code": None}]}]}
    out = crictl.render_ps(state, now=200.0).splitlines()
    assert out[0].split() == ["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT",
                              "POD", "ID", "POD", "EXIT", "CODE"]
    assert out[1].split()[:1] == ["2" * 13] and "Running" in out[1] and "30 seconds ago" in out[1]
    assert out[2].split()[-1] == "137" and "Exited" in out[2]


def test_exit_codes_are_reported_like_the_runtime() -> None:
    assert kubelet._exit_code(-9) == 137
    assert kubelet._exit_code(-15) == 143
    assert kubelet._exit_code(2) == 2


def test_boot_script_isolates_before_it_mounts_and_pivots_last() -> None:
    node = Path("/labs/x/nodes/master01")
    text = nodefs.boot_script(node, "master01", [Path("/work/repo"), Path("/tmp/ci/venv")],  # noqa: S108
                              ["/venv/bin/python", "-m", "blackstart.lab.nodeinit"])
    lines = text.splitlines()
    assert lines[1] == "mount --make-rprivate /"  # nothing may propagate to the host
    tmp_bind = lines.index(f"mount --bind {node}/tmp {node}/.stage/root/tmp")  # noqa: S108
    assert any("lowerdir=/etc" in ln for ln in lines[:tmp_bind])
    # a shared path under /tmp is bound in after the node's own /tmp hides the host's
    venv = lines.index(f"mount --rbind /tmp/ci/venv {node}/.stage/root/tmp/ci/venv")
    assert venv > tmp_bind
    assert not any("/work/repo" in ln for ln in lines)  # visible through the root overlay
    assert lines.index("pivot_root . .oldroot") > venv
    assert "hostname master01" in lines
    assert lines[-1] == "exec /venv/bin/python -m blackstart.lab.nodeinit"


def test_what_the_node_hides() -> None:
    assert nodefs.hidden_by_node(Path("/tmp/x"))  # noqa: S108
    assert nodefs.hidden_by_node(Path("/var/lib/etcd"))
    assert not nodefs.hidden_by_node(Path("/var/libx"))
    assert not nodefs.hidden_by_node(Path("/work/wt"))


def test_orphans_are_the_running_containers_of_the_old_state() -> None:
    state = {"pods": [{"containers": [{"state": "Exited", "pid": 10},
                                      {"state": "Running", "pid": 33}]},
                      {"containers": [{"state": "Running", "pid": None}]}]}
    assert kubelet.orphans(state) == [33]
