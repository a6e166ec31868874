"""Checks every request passes before any route sees it: the Host header and the body size.

Both are ASGI middleware, so they act before FastAPI parses or validates anything:

- **Host check.** A page on another site can make the browser send requests to ``127.0.0.1`` after
  re-pointing its own domain there (DNS rebinding); such requests carry that domain in ``Host``. The
  server answers only to the names it was started for, plus IP literals (a request whose Host is an
  IP cannot come through a rebound domain).
- **Body cap.** A JSON body is read and validated in full before a route runs, so its size bounds
  both the time and the memory a request can take. Bodies over the cap get 413 as soon as the
  declared length, or the bytes received, pass it. Routes that stream and cap their own bodies
  (uploads) are listed with ``None``.
"""

from __future__ import annotations

import ipaddress
import json
import re

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
"""What a server bound to the loopback interface answers to."""

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def host_name(header: str) -> str:
    """The host part of a Host header, lower case, without port, brackets or a trailing dot."""
    value = header.strip().lower()
    if value.startswith("["):  # [::1]:8000
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def host_allowed(header: str, allowed: tuple[str, ...] | frozenset[str]) -> bool:
    """True for an IP literal or one of ``allowed`` (names compared without port and case)."""
    host = host_name(header)
    if not host:
        return True  # HTTP/1.0 without Host: no browser sends this, so no rebinding either
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host in {host_name(a) for a in allowed}


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class HostCheck:
    """Answer 400 to a request whose Host header is neither an allowed name nor an IP literal."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = frozenset(host_name(a) for a in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), "")
            if not host_allowed(host, self.allowed):
                if scope["type"] == "http":
                    await _send_json(send, 400, f"this server does not answer to host {host_name(host)!r}; "
                                                f"start it with --allow-host {host_name(host)} to allow it")
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over ``default`` bytes (or the path's own entry in ``limits``) with 413.

    The body is collected here, up to the cap, and handed on unchanged; a path mapped to ``None``
    streams its body to the route, which caps it itself.
    """

    def __init__(self, app: ASGIApp, default: int, limits: dict[str, int | None] | None = None) -> None:
        self.app = app
        self.default = default
        self.limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        cap = self.limits.get(str(scope.get("path", "")), self.default)
        if cap is None:
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _send_json(send, 413, f"the request body is {int(declared):,} bytes, over the {cap:,}-byte limit")
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > cap:
                await _send_json(send, 413, f"the request body is over the {cap:,}-byte limit")
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def json_depth(text: str) -> int:
    """How deeply JSON text nests arrays and objects, found without parsing it (no recursion).

    Strings are removed first, so brackets inside them do not count.
    """
    codes = np.frombuffer(_STRING.sub("", text).encode("utf-8", "replace"), dtype=np.uint8)
    step = np.isin(codes, (ord("["), ord("{"))).astype(np.int64) - np.isin(codes, (ord("]"), ord("}")))
    return int(np.cumsum(step).max(initial=0))
