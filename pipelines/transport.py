"""Secrets travel encrypted (the admin key, the alert webhook's URL): plain http only to a loopback
host, where the traffic never leaves the machine, or when the operator opts in for a network they
trust (USAGE_PIPELINE_ALLOW_INSECURE_HTTP). One rule, used by the API client and the settings.
"""

from __future__ import annotations

import ipaddress

import httpx

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (also IPv4-mapped) and localhost: traffic that never leaves the machine."""
    if host.lower().rstrip(".") in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def plain_http_refusal(url: httpx.URL, secret: str, *, allow_insecure_http: bool) -> str | None:
    """Why `url` must not carry `secret` (the end of a sentence naming the setting), or None when it may.

    Shows the host at most, never the path or query (a webhook's path is its secret)."""
    if url.scheme != "http" or allow_insecure_http or is_loopback(url.host):
        return None
    return (f"is plain http to {url.host}, which would send {secret} unencrypted: use https://, or set "
            "USAGE_PIPELINE_ALLOW_INSECURE_HTTP=true for a network you trust (loopback hosts need neither)")
