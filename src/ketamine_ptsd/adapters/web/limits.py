"""Request limits, enforced before a body is read in full (issue 16).

:class:`RequestLimitsMiddleware` sits outside every route:

* **Body size per route class.** The limit is the first :attr:`RequestLimits.body_limits` entry
  whose path prefix matches (sign-in forms and the token endpoint get a few kilobytes), else
  :attr:`RequestLimits.max_body_bytes`. A ``Content-Length`` above the limit is answered 413
  without reading a byte; a body without one (chunked) or one longer than its ``Content-Length``
  claims is counted chunk by chunk as the app reads it and cut off with 413 as soon as it passes
  the limit, so at most one chunk beyond the limit is ever held in memory.
* **JSON nesting depth.** A JSON body (already bounded in size) deeper than
  :attr:`RequestLimits.max_json_depth` is answered 422 before any parser sees it (a deeply nested
  document costs the parser stack and time out of proportion to its size).
* **Form fields.** The count and size of form fields are passed to the form parsers
  (:meth:`RequestLimits.form_limits`); too many or too large fields are answered 413.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyTooLarge", "RequestLimits", "RequestLimitsMiddleware", "json_depth"]

KIB = 1024


@dataclass(frozen=True)
class RequestLimits:
    """The limits of one web instance (part of :class:`~.config.WebSettings`).

    No route takes a file upload: the largest legitimate bodies are the assessment forms (a few
    kilobytes), so one general limit with a tighter one for the unauthenticated sign-in routes
    is enough; a route that needs more gets its own ``body_limits`` entry.
    """

    max_body_bytes: int = 256 * KIB
    body_limits: Sequence[tuple[str, int]] = (("/login", 8 * KIB), ("/api/v1/auth/", 8 * KIB))
    max_form_fields: int = 200
    max_form_field_bytes: int = 32 * KIB
    max_json_depth: int = 16

    def body_limit(self, path: str) -> int:
        """The body limit of ``path``: the first matching prefix's, else the general one."""
        for prefix, limit in self.body_limits:
            if path.startswith(prefix):
                return limit
        return self.max_body_bytes

    def form_limits(self) -> dict[str, int]:
        """Keyword arguments for Starlette's and FastAPI's form parsers."""
        return {
            "max_fields": self.max_form_fields,
            "max_files": 0,
            "max_part_size": self.max_form_field_bytes,
        }


class BodyTooLarge(HTTPException):
    """The body passed its limit while the app was reading it (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds the limit of {limit} bytes")


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body`` (strings are skipped)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub(b"", body)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


class RequestLimitsMiddleware:
    """Applies :class:`RequestLimits` to every HTTP request (see the module's docstring)."""

    def __init__(self, app: ASGIApp, limits: RequestLimits, api_prefix: str = "/api/") -> None:
        self.app = app
        self.limits = limits
        self.api_prefix = api_prefix

    async def _refuse(self, scope: Scope, send: Send, status: int, detail: str) -> None:
        path = str(scope.get("path", ""))
        if path.startswith(self.api_prefix):
            title = "request too large" if status == 413 else "invalid request"
            body = json.dumps({"error": title, "detail": detail}).encode()
            content_type = b"application/json"
        else:
            body = f"Request refused: {detail}.\n".encode()
            content_type = b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.body_limit(str(scope.get("path", "")))
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await self._refuse(scope, send, 400, "Content-Length is not a number")
                return
            if int(declared) > limit:
                await self._refuse(
                    scope, send, 413, f"the request body exceeds the limit of {limit} bytes"
                )
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        content_type = (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
        if content_type != b"application/json" and not content_type.endswith(b"+json"):
            await self.app(scope, counted, send)
            return
        # JSON: read the (bounded) body here, check its nesting, then hand it on unchanged.
        chunks: list[bytes] = []
        more = True
        while more:
            try:
                message = await counted()
            except BodyTooLarge as exc:
                await self._refuse(scope, send, 413, str(exc.detail))
                return
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # disconnected: let the app see it
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        if json_depth(body) > self.limits.max_json_depth:
            await self._refuse(
                scope,
                send,
                422,
                f"body: JSON nested deeper than {self.limits.max_json_depth} levels",
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
