"""The restore kit: what a kubeadm control plane needs beside the snapshot to come back.

`snapshot save --kit` archives, as NAME.kit.tar.gz beside NAME: the static-pod manifests,
the etcd PKI (certificates as they are; private keys encrypted with age, to a recipient
or a passphrase via pyrage, or left out when the operator says so), the apiserver's
encryption-configuration (it holds data keys: encrypted like the private keys), and the
etcd and Kubernetes versions. `kit.json` inside lists the parts; the checks read it.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import re
import tarfile
import time
from typing import Any

import pyrage

from blackstart.checks.formats.backup_copies import KIT_INDEX, kit_parts_from_index
from blackstart.checks.model import Cluster, Member
from blackstart.checks.nodes import NodeError, NodeReader
from blackstart.runbook import etcdapi
from blackstart.runbook.plan import Step, StepIds
from blackstart.runbook.preflight import PlanRefused
from blackstart.runbook.runner import Outcome, Runner

KEY_SUFFIXES = (".key",)
IMAGE_RE = re.compile(r"image:\s*\S*kube-apiserver:(v[\w.+-]+)")
ENC_RE = re.compile(r"--encryption-provider-config=(\S+)")


def parse_keys_choice(choice: str) -> tuple[str, str]:
    """'recipient:age1…' | 'passphrase-env:VAR' | 'omit' -> (mode, value)."""
    mode, _, value = choice.partition(":")
    if mode == "omit" or (mode in ("recipient", "passphrase-env") and value):
        return mode, value
    raise PlanRefused("--kit needs a choice for the private keys: --kit-recipient AGE_PUBKEY, "
                      "--kit-passphrase-env VAR, or --kit-no-keys (keys left out)")


def kit_step(cluster: Cluster, ids: StepIds, snapshot: str, member: Member, keys: str
             ) -> Step:
    mode, value = parse_keys_choice(keys)
    if mode == "recipient":
        try:
            pyrage.x25519.Recipient.from_str(value)
        except Exception as exc:  # noqa: BLE001 - pyrage raises its own error types
            raise PlanRefused(f"--kit-recipient {value!r} is not an age public key") from exc
    if mode == "passphrase-env" and not os.environ.get(value):
        raise PlanRefused(f"--kit-passphrase-env {value}: that variable is empty or unset")
    dest = f"{snapshot}.kit.tar.gz"
    how = {"recipient": f"keys encrypted to {value[:16]}…",
           "passphrase-env": f"keys encrypted with the passphrase in ${value}",
           "omit": "private keys left out"}[mode]
    return Step(ids("kit"), member.node, "archive the restore kit", "kit",
                detail=f"manifests, etcd PKI ({how}), encryption config, versions -> {dest}",
                args={"dest": dest, "member": member.name, "keys": keys}, timeout=300)


def _encryptor(keys: str) -> Any:
    mode, value = parse_keys_choice(keys)
    if mode == "recipient":
        r = pyrage.x25519.Recipient.from_str(value)
        return lambda data: pyrage.encrypt(data, [r])
    if mode == "passphrase-env":
        secret = os.environ.get(value, "")
        if not secret:
            raise PlanRefused(f"${value} is empty: no passphrase to encrypt the kit's keys")
        return lambda data: pyrage.passphrase.encrypt(data, secret)
    return None


async def _read_dir(c: NodeReader, d: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        entries = await c.list_dir(d)
    except NodeError:
        return out
    for e in entries:
        if not e.is_dir:
            out[e.name] = await c.read_file(e.path)
    return out


async def collect(r: Runner, member: Member, keys: str) -> tuple[dict[str, bytes], list[str],
                                                                 list[str]]:
    """(archive path -> bytes, parts, notes)."""
    c = r.client(member.node)
    enc, files, parts, notes = _encryptor(keys), {}, [], []
    manifests = posixpath.dirname(member.manifest) if member.manifest else None
    if manifests:
        for name, data in (await _read_dir(c, manifests)).items():
            files[f"manifests/{name}"] = data
        parts += ["manifests"] if any(k.startswith("manifests/") for k in files) else []
    pki = posixpath.dirname(member.server.ca) if member.server else None
    if pki:
        got = await _read_dir(c, pki)
        for name, data in got.items():
            if name.endswith(KEY_SUFFIXES):
                if enc is not None:
                    files[f"pki/{name}.age"] = enc(data)
            else:
                files[f"pki/{name}"] = data
        parts += ["pki"] if got else []
        if enc is not None and any(n.endswith(KEY_SUFFIXES) for n in got):
            parts.append("pki-keys")
        elif enc is None:
            notes.append("private keys left out (--kit-no-keys)")
    api = files.get("manifests/kube-apiserver.yaml", b"").decode("utf-8", "replace")
    enc_path = ENC_RE.search(api)
    if enc_path and enc is not None:
        try:
            files["encryption-config.yaml.age"] = enc(await c.read_file(enc_path.group(1)))
            parts.append("encryption-config")
        except NodeError as exc:
            notes.append(f"encryption config {enc_path.group(1)} unreadable: {exc}")
    elif enc_path:
        notes.append("encryption config left out with the keys (it holds data keys)")
    versions = {"etcd": await _etcd_version(r, member),
                "kubernetes": (IMAGE_RE.search(api).group(1)  # type: ignore[union-attr]
                               if IMAGE_RE.search(api) else None)}
    files["versions.json"] = json.dumps(versions).encode()
    parts.append("versions")
    return files, parts, notes


async def _etcd_version(r: Runner, member: Member) -> str | None:
    import asyncio

    def ask() -> str | None:
        from etcd3 import etcdrpc

        with etcdapi.member_client(r.cluster, member, 5.0) as cl:
            return str(cl.maintenancestub.Status(etcdrpc.StatusRequest(), 5.0).version)

    try:
        return await asyncio.to_thread(ask)
    except Exception:  # noqa: BLE001 - the version is nice to have, not a reason to fail
        return None


def write_kit(dest: str, files: dict[str, bytes], parts: list[str], snapshot: str) -> None:
    index = {"snapshot": os.path.basename(snapshot), "created": time.time(), "parts": parts,
             "files": sorted(files)}
    part = dest + ".part"
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in [(KIT_INDEX, json.dumps(index, indent=1).encode()),
                           *sorted(files.items())]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    os.replace(part, dest)


def parts_of_kit_file(path: str) -> list[str]:
    with tarfile.open(path, mode="r:gz") as tar:
        member = tar.extractfile(KIT_INDEX)
        return kit_parts_from_index(json.loads(member.read())) if member else []


async def op_kit(r: Runner, step: Step, previous: str | None) -> Outcome:
    member = r.cluster.member(str(step.args["member"]))
    dest = str(step.args["dest"])
    try:
        files, parts, notes = await collect(r, member, str(step.args["keys"]))
    except PlanRefused as exc:
        return Outcome("failed", error=exc.reason)
    snapshot = dest[: -len(".kit.tar.gz")]
    write_kit(dest, files, parts, snapshot)
    return Outcome("ok", r.say(f"kit {dest}: {', '.join(parts)}"
                               + "".join(f"; {n}" for n in notes)))
