"""The one way blackstart builds an etcd v3 client (python3-etcd3 over gRPC).

The probes, the runbook's API calls and the lab all use `etcd_client`, so a fact about
the connection is written once: gRPC's http proxy is off, because grpc honours
`http_proxy`/`https_proxy` even for loopback, and an etcd member is never behind a proxy.
"""

from __future__ import annotations

from typing import Any

from blackstart.checks.model import TLSFiles

NO_PROXY = ("grpc.enable_http_proxy", 0)


def etcd_client(host: str, port: int, *, tls: TLSFiles | None = None,
                timeout: float = 5.0) -> Any:
    """A blocking etcd3 client to one member; `tls` (client cert, key, CA) for https."""
    import etcd3

    creds: dict[str, Any] = {}
    if tls is not None:
        creds = {"ca_cert": tls.ca or None, "cert_cert": tls.cert or None,
                 "cert_key": tls.key or None}
    return etcd3.client(host=host, port=port, timeout=timeout, grpc_options=[NO_PROXY],
                        **creds)
