"""Probe results and the cluster model as JSON, and back: plain functions, no I/O.

A recording is what the probes returned against a real lab (see
tests/data/recorded/record.py). Replayed through `assemble_report` with the recording's
clock it gives the same report, findings and verdict as on the day it was recorded, so the
screenshots and the snapshot tests show what the product really says.

Every result is written with its type name (`{"type": "MemberState", ...}`); nested values
are decoded from the dataclass field types, so the format follows `checks.model` and
`checks.probe_results` without a schema of its own.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from blackstart.checks import probe_results
from blackstart.checks.model import Cluster

FORMAT = 1

# The result types a probe may return: the only types a recording may name.
RESULT_TYPES: dict[str, type] = {t.__name__: t for t in (
    probe_results.MemberState, probe_results.CertInfo, probe_results.SnapshotInfo,
    probe_results.WalState, probe_results.LogLine, probe_results.ProcessInfo,
    probe_results.NodeAccess, probe_results.ClockInfo, probe_results.MetricsInfo,
    probe_results.RestoreSource, probe_results.BackupLocationState, probe_results.DrillRecord,
    probe_results.Recovery,
)}


class RecordingError(ValueError):
    """The JSON is not a recording this version can read; says which value and why."""


# --------------------------------------------------------------------------- encode


def encode(obj: Any) -> Any:
    """Dataclasses to dicts (fields in order), enums to their names, tuples to lists."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.name
    if isinstance(obj, dict):
        return {str(k): encode(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [encode(v) for v in obj]
    return obj


def encode_result(item: Any) -> dict[str, Any]:
    name = type(item).__name__
    if RESULT_TYPES.get(name) is not type(item):
        raise RecordingError(f"{name} is not a probe result type")
    return {"type": name, **encode(item)}


def results_to_json(results: Mapping[str, Sequence[Any]]) -> dict[str, list[dict[str, Any]]]:
    """{probe name: [result, ...]} as JSON-ready data."""
    return {name: [encode_result(i) for i in items] for name, items in results.items()}


def cluster_to_json(cluster: Cluster) -> dict[str, Any]:
    out: dict[str, Any] = encode(cluster)
    return out


# --------------------------------------------------------------------------- decode


def decode(value: Any, hint: Any, where: str = "$") -> Any:
    """`value` (from JSON) as an instance of the type `hint`; RecordingError names `where`."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _decode_union(value, typing.get_args(hint), where)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(value, hint, where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint[value]
        except KeyError as exc:
            raise RecordingError(f"{where}: {value!r} is not a {hint.__name__}") from exc
    if origin in (list, tuple, dict):
        return _decode_container(value, origin, typing.get_args(hint), where)
    return _decode_scalar(value, hint, where)


def _decode_union(value: Any, arms: tuple[Any, ...], where: str) -> Any:
    if value is None and type(None) in arms:
        return None
    errors = []
    for arm in (a for a in arms if a is not type(None)):
        try:
            return decode(value, arm, where)
        except RecordingError as exc:
            errors.append(str(exc))
    raise RecordingError("; ".join(errors) or f"{where}: {value!r} fits no type")


def _decode_container(value: Any, origin: Any, args: tuple[Any, ...], where: str) -> Any:
    if origin is dict:
        if not isinstance(value, dict):
            raise RecordingError(f"{where}: expected an object, got {value!r}")
        item = args[1] if len(args) == 2 else Any
        return {k: decode(v, item, f"{where}.{k}") for k, v in value.items()}
    if not isinstance(value, list):
        raise RecordingError(f"{where}: expected a list, got {value!r}")
    item = args[0] if args else Any
    items = [decode(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    return items if origin is list else tuple(items)


def _decode_scalar(value: Any, hint: Any, where: str) -> Any:
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # JSON writes 2.0 as 2.0, but a hand-edited file may say 2
    if isinstance(hint, type) and hint is not type(None) and isinstance(value, hint):
        if hint is int and isinstance(value, bool):
            raise RecordingError(f"{where}: expected int, got {value!r}")
        return value
    if hint is type(None) and value is None:
        return None
    raise RecordingError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)  # names resolve in the module that defines `cls`


def _decode_dataclass(value: Any, cls: type, where: str) -> Any:
    if not isinstance(value, dict):
        raise RecordingError(f"{where}: expected a {cls.__name__} object, got {value!r}")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(value) - names - {"type"}
    if unknown:
        raise RecordingError(f"{where}: {cls.__name__} has no field {sorted(unknown)[0]!r}")
    kwargs = {k: decode(v, hints[k], f"{where}.{k}") for k, v in value.items() if k != "type"}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise RecordingError(f"{where}: {cls.__name__}: {exc}") from exc


def decode_result(value: Any, where: str = "$") -> Any:
    if not isinstance(value, dict) or value.get("type") not in RESULT_TYPES:
        name = value.get("type") if isinstance(value, dict) else value
        raise RecordingError(f"{where}: {name!r} is not a probe result type")
    return decode(value, RESULT_TYPES[value["type"]], where)


def results_from_json(doc: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {name: [decode_result(v, f"$.{name}[{i}]") for i, v in enumerate(items)]
            for name, items in doc.items()}


def cluster_from_json(doc: Mapping[str, Any]) -> Cluster:
    cluster: Cluster = decode(dict(doc), Cluster, "$.cluster")
    return cluster


# --------------------------------------------------------------------------- a recording


@dataclasses.dataclass
class Recording:
    """One moment of a lab: its model, what every probe returned, and the clock then."""

    scenario: str
    how: str  # what was done to the lab, in words
    taken_at: float
    cluster: Cluster
    results: dict[str, list[Any]]
    errors: dict[str, str] = dataclasses.field(default_factory=dict)


def recording_to_json(rec: Recording) -> dict[str, Any]:
    return {"format": FORMAT, "scenario": rec.scenario, "how": rec.how,
            "taken_at": rec.taken_at, "cluster": cluster_to_json(rec.cluster),
            "results": results_to_json(rec.results), "errors": dict(rec.errors)}


def recording_from_json(doc: Mapping[str, Any]) -> Recording:
    if doc.get("format") != FORMAT:
        raise RecordingError(f"recording format {doc.get('format')!r}; this reads {FORMAT}")
    return Recording(str(doc["scenario"]), str(doc.get("how", "")),
                     float(doc["taken_at"]), cluster_from_json(doc["cluster"]),
                     results_from_json(doc["results"]),
                     {str(k): str(v) for k, v in doc.get("errors", {}).items()})
