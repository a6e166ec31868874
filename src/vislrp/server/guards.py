"""Checks every request passes before any route sees it: the Host header, the body size and the body's time.

Both are ASGI middleware, so they act before FastAPI parses or validates anything:

- **Host check.** A page on another site can make the browser send requests to ``127.0.0.1`` after
  re-pointing its own domain there (DNS rebinding); such requests carry that domain in ``Host``. The
  server answers only to the names it was started for, plus IP literals (a request whose Host is an
  IP cannot come through a rebound domain).
- **Body cap.** A JSON body is read and validated in full before a route runs, so its size bounds
  both the time and the memory a request can take. Bodies over the cap get 413 as soon as the
  declared length, or the bytes received, pass it. Routes that stream and cap their own bodies
  (uploads) are listed with ``None``.
- **Body deadline.** A body must arrive in full within a time limit after the request began; a client
  that stalls or trickles it (one byte every 2 s) gets 408 and its connection is closed, so it holds
  nothing (a task, a job's attention, a half-read buffer) for longer than that.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import time

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vislrp.server.errors import BodyTimeout, error_status

LOOPBACK_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
"""What a server bound to the loopback interface answers to."""

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
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


BODY_TIMEOUT_S = 30.0
"""How long a request body may take to arrive in full (a 20 MB upload at under 1 MB/s still makes it)."""


async def _send_json(send: Send, status: int, detail: str, *, close: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
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
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
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


class BodyDeadline:
    """Answer 408 (and close the connection) to a request whose body has not arrived in full ``timeout_s`` seconds
    after the request began.

    The deadline is on the whole body, not on each piece, so a client that sends a byte now and then cannot hold a
    request open for ever. Whoever reads the body (the body cap, a route that streams an upload) gets
    :class:`~vislrp.server.errors.BodyTimeout`, answered 408 by the error table.
    """

    def __init__(self, app: ASGIApp, timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.app = app
        self.timeout_s = float(timeout_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.timeout_s
        state = {"complete": False, "timed_out": False, "started": False}

        async def timed_receive() -> Message:
            if state["complete"]:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                state["timed_out"] = True
                raise BodyTimeout(f"the request body did not arrive within {self.timeout_s:g} s") from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                state["complete"] = True
            return message

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                if state["timed_out"]:  # the rest of the body is never read: the connection cannot be reused
                    message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, timed_receive, closing_send)
        except BodyTimeout as exc:  # raised where no route's error handler runs (the body cap reads it first)
            if state["started"]:
                raise
            await _send_json(send, error_status(exc) or 408, str(exc), close=True)


def json_depth(text: str) -> int:
    """How deeply JSON text nests arrays and objects, found without parsing it (no recursion).

    Strings are removed first, so brackets inside them do not count.
    """
    codes = np.frombuffer(_STRING.sub("", text).encode("utf-8", "replace"), dtype=np.uint8)
    step = np.isin(codes, (ord("["), ord("{"))).astype(np.int64) - np.isin(codes, (ord("]"), ord("}")))
    return int(np.cumsum(step).max(initial=0))
