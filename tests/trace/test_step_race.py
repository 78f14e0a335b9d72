"""Gate.hold against a continue that lands between deciding to hold and holding."""

from __future__ import annotations

import asyncio

import pytest

from asgi_scope.trace.step import Gate

SCOPE = {"type": "http", "method": "GET", "path": "/x"}


@pytest.mark.parametrize("how", ["continue_all", "continue_exchange", "stepping off"])
def test_a_continue_right_after_wants_does_not_leave_the_message_held(how: str):
    gate = Gate(stepping=True)

    def breakpoint_(_exchange) -> bool:
        # Runs inside wants(): the UI thread continuing at this very moment.
        if how == "continue_all":
            gate.continue_all()
        elif how == "continue_exchange":
            gate.continue_exchange(1)
        else:
            gate.set_stepping(False)
        return True

    gate.set_breakpoint(breakpoint_)

    async def main() -> None:
        message = {"type": "http.response.start", "status": 200, "headers": []}
        await asyncio.wait_for(gate.hold(1, 1, "send", message, SCOPE), timeout=2)

    asyncio.run(main())
    assert gate.held() == []
