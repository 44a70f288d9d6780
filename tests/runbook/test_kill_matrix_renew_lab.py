"""Issue 13's fault matrix for `certs renew --member etcd2 --yes`: SIGKILLed at every step
boundary (BLACKSTART_KILL_MATRIX=1; else the first, middle and last, see killmatrix.py),
then `rollback` in one run — the old cert and key files back byte for byte, 3/3 healthy —
and `resume` in the other — a renewed pair (new key, same subject and SANs, signed by the
CA) that etcd2 serves, 3/3 healthy. Journal and audit log tell the truth in both."""

from __future__ import annotations

import socket
import ssl
import time
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from killmatrix import boundaries, coverage, run_killed, timeout_mark, truthful
from rbhelpers import cli, healthy_count, need_debian_etcdctl

pytestmark = pytest.mark.lab

MEMBER = "etcd2"
RENEW = ("certs", "renew", "--member", MEMBER)
MAX_BOUNDARIES = 12  # check-ca, 2 × (2 asides + renew), stop, confirm, start, wait: 10


def _cert_specs(lab: Any) -> list[dict[str, Any]]:
    inv = tomllib.loads(Path(lab.inventory_path).read_text())
    return [c for c in inv["certificates"] if c.get("member") == MEMBER
            and c["role"] in ("etcd-server", "etcd-peer")]


def _files(lab: Any) -> dict[str, bytes]:
    return {p: Path(p).read_bytes() for c in _cert_specs(lab) for p in (c["path"], c["key"])}


def _served_cert(lab: Any) -> bytes:
    """The DER certificate etcd2 presents on its client port right now."""
    env = lab.etcdctl_env(MEMBER)
    ctx = ssl.create_default_context(cafile=env["ETCDCTL_CACERT"])
    ctx.load_cert_chain(env["ETCDCTL_CERT"], env["ETCDCTL_KEY"])
    ctx.check_hostname = False
    u = urlsplit(env["ETCDCTL_ENDPOINTS"])
    with socket.create_connection((u.hostname, u.port or 2379), timeout=10) as s, \
            ctx.wrap_socket(s) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der
    return der


def _assert_renewed(lab: Any, before: dict[str, bytes], k: int) -> None:
    now = _files(lab)
    ca_pem = Path(_cert_specs(lab)[0]["ca"]).read_bytes()
    ca = x509.load_pem_x509_certificate(ca_pem)
    for spec in _cert_specs(lab):
        path, key_path = spec["path"], spec["key"]
        assert now[path] != before[path] and now[key_path] != before[key_path], (k, path)
        new, old = (x509.load_pem_x509_certificate(b) for b in (now[path], before[path]))
        key = serialization.load_pem_private_key(now[key_path], None)
        assert new.public_key() == key.public_key(), (k, path)  # the pair matches
        new.verify_directly_issued_by(ca)
        assert new.subject == old.subject, (k, path)
        sans = x509.SubjectAlternativeName
        assert (new.extensions.get_extension_for_class(sans).value
                == old.extensions.get_extension_for_class(sans).value), (k, path)
        assert Path(key_path).stat().st_mode & 0o077 == 0, (k, key_path)
    server = next(s["path"] for s in _cert_specs(lab) if s["role"] == "etcd-server")
    assert _served_cert(lab) == x509.load_pem_x509_certificate(now[server]).public_bytes(
        serialization.Encoding.DER), k


def _one_trial(lab: Any, k: int, mode: str) -> tuple[str, int]:
    """Kill after step k, then `mode`; (the step id, the plan's number of steps)."""
    before = _files(lab)
    j = run_killed(lab, k, "renew-cert", *RENEW, "--yes")
    step_id, pid = j["plan"]["steps"][k - 1]["id"], j["plan"]["id"]
    cli(lab, mode, "--yes")
    assert healthy_count(lab) == 3, step_id
    if mode == "resume":
        assert truthful(lab, pid, step_id)["state"] == "done"
        _assert_renewed(lab, before, k)
    else:
        assert truthful(lab, pid, step_id)["state"] == "rolled-back"
        assert _files(lab) == before, step_id  # byte for byte
        server = next(s["path"] for s in _cert_specs(lab) if s["role"] == "etcd-server")
        assert _served_cert(lab) == x509.load_pem_x509_certificate(
            before[server]).public_bytes(serialization.Encoding.DER), step_id
    return step_id, len(j["plan"]["steps"])


@timeout_mark(MAX_BOUNDARIES)
@pytest.mark.parametrize("mode", ["resume", "rollback"])
def test_renew_killed_at_step_boundaries(rb_lab: Any, mode: str) -> None:
    need_debian_etcdctl()
    lab = rb_lab()
    t0 = time.monotonic()
    # `certs renew` shows no JSON plan: the first trial's journal tells its length
    step_id, steps = _one_trial(lab, 1, mode)
    n = steps - 1  # after the last step the plan is done
    assert 1 < n <= MAX_BOUNDARIES, steps
    chosen = boundaries(n)
    for k in chosen:
        if k > 1:
            step_id, _ = _one_trial(lab, k, mode)
        print(f"kill matrix renew ({mode}): boundary {k}/{n} after {step_id}: green "
              f"({time.monotonic() - t0:.0f}s)", flush=True)
    print(f"\nkill matrix renew ({mode}): {len(chosen)} of {n} boundaries "
          f"({coverage()}) of a {steps}-step renew, all green, "
          f"{time.monotonic() - t0:.0f}s")
