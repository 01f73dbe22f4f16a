"""HAProxy's configuration, rendered from the runtime state.

One HAProxy serves every stage of a state folder: one frontend per stage on the stage's stable port,
one backend per stage with a fixed number of server slots (the runtime API fills and empties them),
and a stats frontend with HAProxy's Prometheus exporter. The file is rendered from the state file,
so a reload keeps exactly the routing that the runtime API had set.
"""

from __future__ import annotations

from typing import Any

from kargo.runtime.state import InstanceRecord, InstanceState, RuntimePaths, RuntimeState

EMPTY_SLOT_ADDRESS = "127.0.0.1:1"

GLOBAL = """\
global
    daemon
    pidfile {pidfile}
    stats socket {socket} mode 600 level admin expose-fd listeners
    stats timeout 30s
    hard-stop-after 30s
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout tunnel 1h
    timeout client-fin 5s
    timeout server-fin 5s
    option redispatch 1
    retries 3
    retry-on conn-failure empty-response response-timeout
    option http-buffer-request
    # The instances see each client's address (they trust 127.0.0.1 as their proxy).
    option forwardfor

frontend stats
    bind 127.0.0.1:{stats_port}
    http-request use-service prometheus-exporter if {{ path /metrics }}
    stats enable
    stats uri /stats
    stats refresh 5s
"""

STAGE = """
frontend fe_{stage}
    bind 127.0.0.1:{port}
    default_backend be_{stage}

backend be_{stage}
    balance roundrobin
    option httpchk GET {health_path}
    http-check expect status 200
    default-server check inter 1s fall 2 rise 1
{affinity}{servers}
"""


def affinity_lines(affinity: dict[str, Any] | None) -> str:
    """Sticky routing by a key taken from the path or from a response header.

    Every request whose path starts with a prefix is routed by the path's `field`-th
    "/"-separated part (1-based, the leading empty part counts); a response header names the key
    of something just created (a new room), so that its later requests follow it. Requests
    without a key are balanced by weight. Keys stay in the table for `expire`.
    """
    if not affinity:
        return ""
    expire = affinity.get("expire") or "24h"
    lines = [f"    stick-table type string len 64 size 200k expire {expire}"]
    for number, rule in enumerate(affinity.get("paths") or []):
        acl = f"affinity_{number}"
        lines.append(f"    acl {acl} path_beg {rule['prefix']}")
        lines.append(f"    stick on path,field({int(rule['field'])},/) if {acl}")
    header = affinity.get("responseHeader")
    if header:
        lines.append(f"    stick store-response res.hdr({header})")
    return "\n".join(lines) + "\n"


def slot_name(slot: int) -> str:
    """The server name of a backend slot."""
    return f"s{slot}"


def backend_name(stage: str) -> str:
    """The backend of a stage."""
    return f"be_{stage}"


def render_config(paths: RuntimePaths, state: RuntimeState) -> str:
    """The whole haproxy.cfg for the current state."""
    assert state.stats_port is not None
    parts = [
        GLOBAL.format(
            pidfile=paths.haproxy_pidfile,
            socket=paths.haproxy_socket,
            stats_port=state.stats_port,
        )
    ]
    for stage, route in sorted(state.routes.items()):
        by_slot: dict[int, InstanceRecord] = {
            instance.slot: instance
            for instance in state.stage_instances(stage)
            if instance.slot is not None
        }
        lines = []
        for slot in range(1, route.slots + 1):
            instance = by_slot.get(slot)
            if instance is None:
                lines.append(f"    server {slot_name(slot)} {EMPTY_SLOT_ADDRESS} disabled")
            else:
                flag = "" if instance.state is InstanceState.SERVING else " disabled"
                address = f"127.0.0.1:{instance.port} weight {instance.weight}"
                lines.append(f"    server {slot_name(slot)} {address}{flag}")
        parts.append(
            STAGE.format(
                stage=stage,
                port=route.port,
                health_path=route.health_path,
                affinity=affinity_lines(route.affinity),
                servers="\n".join(lines),
            )
        )
    return "".join(parts)
