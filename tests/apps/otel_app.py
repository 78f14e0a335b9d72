"""A FastAPI app instrumented the way OpenTelemetry's docs show: the real SDK,
``OpenTelemetryMiddleware`` (opentelemetry-instrumentation-asgi: a SERVER span
per request, an ``http receive`` / ``http send`` span per ASGI message) and the
real OTLP/HTTP protobuf exporter, sending each span as it ends
(``SimpleSpanProcessor``) to ``$OTEL_EXPORTER_OTLP_ENDPOINT`` (the test's
``asgi-scope attach --otlp-listen``).

``$OTLP_TOKEN``, when set, is sent as ``Authorization: Bearer``.

- ``GET /items/{item_id}?q=`` → ``{"item_id": int, "q": str | None}``
- ``POST /echo`` → the request body, as it came (an ``http receive`` span too)
- ``GET /boom`` → raises ``RuntimeError("boom")`` (a 500; the span's status ERROR)
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request, Response
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

api = FastAPI()


@api.get("/items/{item_id}")
async def item(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


@api.post("/echo")
async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="text/plain")


@api.get("/boom")
async def boom() -> None:
    raise RuntimeError("boom")


token = os.environ.get("OTLP_TOKEN")
provider = TracerProvider(resource=Resource.create({"service.name": "otel-test-app"}))
provider.add_span_processor(
    SimpleSpanProcessor(
        OTLPSpanExporter(
            headers={"Authorization": f"Bearer {token}"} if token else None, timeout=10
        )
    )
)
app = OpenTelemetryMiddleware(api, tracer_provider=provider)
