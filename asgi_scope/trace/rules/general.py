"""General rules: every message and scope, whatever the protocol (ASGI 3.0 core spec,
"asgi.rst": Events, Error Handling, Extensions, the allowed value types)."""

from __future__ import annotations

from asgi_scope.trace.rules.rule import Rule

CORE = "ASGI 3.0"
"""The core spec, version 3.0 (``asgi.rst``)."""

_TYPES = (
    "Dictionaries must contain only the following types: Byte strings, Unicode "
    "strings, Integers (within the signed 64-bit range), Floating point numbers "
    "(within the IEEE 754 double precision range; no Nan or infinities), Lists "
    "(tuples should be encoded as lists), Dicts (keys must be Unicode strings), "
    "Booleans, None."
)


def _app(id: str, severity: str, part: str, title: str, text: str, fix: str) -> Rule:
    return Rule(id, "general", severity, CORE, part, title, text, fix)  # type: ignore[arg-type]


def _server(id: str, severity: str, part: str, title: str, text: str, fix: str) -> Rule:
    return Rule(id, "general", severity, CORE, part, title, text, fix, "server")  # type: ignore[arg-type]


RULES = (
    _app("asgi.message-dict", "error", "Events", "a message is a dict",
         "Each event is a dict with a top-level type key that contains a Unicode string "
         "of the message type.",
         "Pass send() a plain dict, e.g. {'type': 'http.response.body', 'body': b'...'}."),
    _app("asgi.message-type", "error", "Events", "a message has a str type",
         "Each event is a dict with a top-level type key that contains a Unicode string "
         "of the message type.",
         "Give every message a 'type' key holding the message type as a str."),
    _app("asgi.unknown-type", "error", "Error Handling", "a message type the protocol defines",
         "If a server receives an invalid event dictionary - for example, having an unknown "
         "type, missing keys an event type should have, or with wrong Python types for "
         "objects - it should raise an exception out of the send awaitable.",
         "Send only the message types of this scope's protocol (check the spelling)."),
    _app("asgi.extension-offered", "error", "Extensions", "an extension is used only when offered",
         "Servers advertise extensions in scope['extensions']; an application must only "
         "send an extension's messages if the server lists it there.",
         "Check `'name' in scope.get('extensions', {})` before sending an extension message."),
    _app("asgi.key-str", "error", "Events", "message keys are str",
         _TYPES, "Use str keys in every message dict."),
    _app("asgi.float-finite", "error", "Events", "no NaN or infinity",
         _TYPES, "Replace NaN and infinities before sending, or send them inside a body."),
    _app("asgi.int-64bit", "error", "Events", "integers within 64 bits",
         _TYPES, "Keep integers between -2**63 and 2**63 - 1."),
    _app("asgi.value-type", "error", "Events", "only the spec's value types",
         _TYPES, "Convert the value to bytes, str, int, float, bool, None, a list or a dict."),
    _app("asgi.bytes-exact", "warning", "Events", "bytes, not bytearray or memoryview",
         _TYPES + " A byte string is bytes; servers accept other bytes-like objects only "
         "by tolerance.",
         "Wrap it: bytes(buffer)."),
    # -- what every scope holds (the server's side) --------------------------
    _server("asgi.scope-type", "error", "Connection Scope", "the scope has a str type",
            "Every connection by a user to an ASGI application results in a call of the "
            "application callable to handle that connection entirely. The scope ... must "
            "contain a type key with a Unicode string naming the protocol.",
            "The server must set scope['type'] to 'http', 'websocket' or 'lifespan'."),
    _server("asgi.scope-asgi", "error", "Connection Scope", "scope['asgi'] has the version",
            "asgi['version'] (Unicode string) - Version of the ASGI spec. The scope must have "
            "an asgi key containing a dict with a version key.",
            "The server must set scope['asgi'] = {'version': '3.0', 'spec_version': ...}."),
    _server("asgi.scope-version", "warning", "Connection Scope", "ASGI version 2.0 or 3.0",
            "asgi['version'] (Unicode string) - Version of the ASGI spec: '3.0' for ASGI 3 "
            "single-callable applications ('2.0' for the legacy double callable).",
            "Set scope['asgi']['version'] to '3.0'."),
    _server("asgi.scope-keys", "error", "Connection Scope", "scope keys are str",
            _TYPES + " The scope is a dict following these rules.",
            "Use str keys in the scope."),
    _server("asgi.scope-extensions", "error", "Extensions", "extensions is a dict of dicts",
            "extensions (dict) - ... a dict of extension names to dicts of extension data; "
            "optional, if missing or None the server supports no extensions.",
            "Set scope['extensions'] to {'name': {...}} or leave it out."),
    _server("asgi.scope-state", "error", "Lifespan State (Lifespan 2.0)", "state is a dict",
            "state (dict) - An empty namespace where the application can persist state to be "
            "used when handling subsequent requests; a shallow copy of it is in each "
            "request's scope.",
            "Give the scope a dict (copied from the lifespan's state) or no 'state' key."),
    _server("asgi.receive-message", "error", "Events", "receive() returns a dict with a str type",
            "Each event is a dict with a top-level type key that contains a Unicode string "
            "of the message type.",
            "The server's receive() must return a dict such as {'type': 'http.request', ...}."),
)  # fmt: skip
