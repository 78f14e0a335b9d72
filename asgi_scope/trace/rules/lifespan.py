"""Lifespan rules for what the app sends and their order (Lifespan Protocol 2.0)."""

from __future__ import annotations

from asgi_scope.trace.rules.rule import Rule

LIFE = "ASGI Lifespan 2.0"

RULES = (
    Rule("lifespan.order", "lifespan.fsm", "error", LIFE, "Startup / Shutdown - send events",
         "complete or failed answers startup or shutdown, once",
         "lifespan.startup.complete / .failed are sent in answer to lifespan.startup, "
         "lifespan.shutdown.complete / .failed in answer to lifespan.shutdown.",
         "Answer each lifespan.startup / lifespan.shutdown once, after receiving it."),
    Rule("lifespan.no-answer", "lifespan.fsm", "error", LIFE, "Startup - receive event",
         "the app answers startup before returning",
         "If the application returns without sending lifespan.startup.complete or "
         "lifespan.startup.failed, the server treats startup as failed (or, before any "
         "message, lifespan as unsupported: raise instead).",
         "Send lifespan.startup.complete; an app without lifespan should raise, not return."),
    Rule("lifespan.failed-message", "lifespan.events", "warning", LIFE,
         "Startup Failed - send event", "the failure message is a str",
         "message (Unicode string) - Optional; if missing defaults to ''.",
         "Pass the failure's message as a str."),
    Rule("lifespan.state-keys", "lifespan.events", "warning", LIFE, "Lifespan State",
         "state keys are str",
         "state ... An empty namespace where the application can persist state: a dict the "
         "server copies into every request's scope (keys are Unicode strings).",
         "Use str keys in scope['state']."),
)  # fmt: skip
