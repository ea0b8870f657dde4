"""TLS contexts for the protocol server and client (Python's ``ssl`` module)."""

from __future__ import annotations

import ssl
from pathlib import Path

from wirekit.errors import UsageError


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context with the certificate chain ``cert`` and private key ``key``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load TLS certificate {cert} / key {key}: {exc}") from exc
    return context


def client_context(ca: Path | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """A client context trusting ``ca`` (else the system store); ``verify=False`` trusts anyone
    (for self-signed test servers only: it defeats TLS's authentication)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca is not None:
        try:
            context.load_verify_locations(str(ca))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"cannot load CA certificate {ca}: {exc}") from exc
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
