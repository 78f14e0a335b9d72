"""Semantic and performance rules: correct by the letter, costly or surprising in
practice."""

from __future__ import annotations

from asgi_scope.trace.rules.rule import Rule

RULES = (
    Rule("http.tiny-body-messages", "semantic", "perf", "ASGI HTTP 2.5",
         "Response Body - send event", "many tiny body messages",
         "Protocol servers must flush any data passed to them into the send buffer before "
         "returning from a send call: each body message is a write (and, chunked, a chunk).",
         "Buffer small pieces and send fewer, larger body messages (a few KiB each)."),
)  # fmt: skip
