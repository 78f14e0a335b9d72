"""Whether an optional extra is installed (``asgi-scope[otel]``,
``asgi-scope[otel-grpc]``), asked without importing it."""

from __future__ import annotations

import importlib.util


def installed(module: str) -> bool:
    """Whether ``module`` (a dotted name such as ``"opentelemetry.proto"``) can be
    imported. Only its parent packages are imported to find it; a missing parent,
    or a module hidden with ``sys.modules[name] = None``, is False."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ModuleNotFoundError, ValueError):
        return False
