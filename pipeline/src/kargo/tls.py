"""TLS contexts for outgoing HTTP clients, built once per process and shared.

Building a context loads the CA bundle: hundreds of milliseconds of CPU on a busy machine, all
of it holding the GIL. An httpx client built per measurement, step or readiness wait paid that
each time, and with 20 promotions verifying it was most of the engine thread's CPU, slowing the
API thread beside it (docs/reliability.md). A leaf module under every layer. The environment's
`SSL_CERT_FILE` and `SSL_CERT_DIR` are read when a context is first built.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def client_tls(verify: bool = True) -> ssl.SSLContext:
    """The shared context: certificates checked against the CA bundle, or (False) not checked."""
    return httpx.create_ssl_context(verify=verify)
