"""What one entry of the log-signature table is: the `Signature` (its patterns, the log
it shows up in, severity, what it means, the remedy, the side of the system it is about),
the `AllOf` pattern that replaces backtracking regexes, and the component and side names
every entry uses. The entries themselves are in the `signatures_*` modules beside this one;
`signatures` assembles them in matching order."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from blackstart.checks.severity import Severity

APISERVER = "kube-apiserver"
ETCD = "etcd"
KUBELET = "kubelet"
BLACKSTART = "blackstart"  # markers blackstart writes itself (e.g. an unreadable source)

# `side`: what the line is about, so the remedy lands on the right thing.
CLIENT = "client"  # the connecting side: kube-apiserver / etcdctl, its client cert and config
SERVER = "server"  # etcd's client port (2379): the process, its server certificate
PEER = "peer"  # the member-to-member link (2380): peer process, peer certs, network
MEMBER = "member"  # one member's own data dir (WAL, snap, db) or its own load
CLUSTER = "cluster"  # membership and quorum as a whole
NODE = "node"  # the host: disk, clock, kubelet
NOWHERE = "none"  # markers about blackstart's own reading
SIDES = (CLIENT, SERVER, PEER, MEMBER, CLUSTER, NODE, NOWHERE)


@dataclass(frozen=True)
class AllOf:
    """Each group has one of its substrings somewhere in the line (in any order): the
    cheap form of `A.*B`, which Python's regex engine answers by backtracking."""

    groups: tuple[tuple[str, ...], ...]

    def search(self, text: str) -> bool:
        for group in self.groups:
            for s in group:
                if s in text:
                    break
            else:
                return False
        return True


Alt = str | re.Pattern[str] | AllOf


@dataclass(frozen=True)
class Signature:
    id: str
    # A plain substring, a compiled regex, an AllOf, or a tuple of these (any of them).
    pattern: Alt | tuple[Alt, ...]
    component: str  # the log it shows up in: kube-apiserver | etcd | kubelet | blackstart
    severity: Severity
    diagnosis: str
    remedy: str
    action: str | None = None  # a runbook action name (a checks.requests request's `name`)
    # For regex alternatives: literals of which each of their matches contains one. With
    # the substrings (and each AllOf's first group) they feed the word index of
    # checks.formats.loglines, which decides which entries a line is tested against.
    keys: tuple[str, ...] = ()
    side: str = SERVER
    # The alternatives split once: substrings are tested first (one C call each).
    _plain: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _other: tuple[re.Pattern[str] | AllOf, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        alts = self.alternatives
        object.__setattr__(self, "_plain", tuple(a for a in alts if isinstance(a, str)))
        object.__setattr__(self, "_other", tuple(a for a in alts if not isinstance(a, str)))

    @property
    def alternatives(self) -> tuple[Alt, ...]:
        return self.pattern if isinstance(self.pattern, tuple) else (self.pattern,)

    def matches(self, text: str) -> bool:
        for lit in self._plain:
            if lit in text:
                return True
        for alt in self._other:
            if isinstance(alt, AllOf):
                if alt.search(text):
                    return True
            elif alt.search(text) is not None:
                return True
        return False

    @property
    def literals(self) -> tuple[str, ...]:
        out: list[str] = []
        for alt in self.alternatives:
            if isinstance(alt, str):
                out.append(alt)
            elif isinstance(alt, AllOf):
                out.extend(alt.groups[0])
        return (*out, *self.keys)

    @property
    def strings(self) -> tuple[str, ...]:
        """Every plain string the entry looks for (its substrings, all AllOf groups, keys)."""
        out: list[str] = []
        for alt in self.alternatives:
            if isinstance(alt, str):
                out.append(alt)
            elif isinstance(alt, AllOf):
                out.extend(s for group in alt.groups for s in group)
        return (*out, *self.keys)

    @property
    def benign(self) -> bool:
        """Harmless when seen: the panel shows it dimmed, never as a problem."""
        return self.severity <= Severity.INFO


C, W, INF = Severity.CRITICAL, Severity.WARNING, Severity.INFO


def all_of(*groups: str | tuple[str, ...]) -> AllOf:
    """`AllOf` written briefly: a lone string is a group of one."""
    return AllOf(tuple((g,) if isinstance(g, str) else g for g in groups))
