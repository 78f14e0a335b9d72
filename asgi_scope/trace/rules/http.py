"""HTTP rules for what the app sends (HTTP & WebSocket ASGI Message Format 2.5,
HTTP part) and their order (the response's state machine), with RFC 9110/9112
where the ASGI spec defers to them."""

from __future__ import annotations

from asgi_scope.trace.rules.rule import Rule

WWW = "ASGI HTTP 2.5"


def _ev(id: str, severity: str, spec: str, part: str, title: str, text: str, fix: str) -> Rule:
    return Rule(id, "http.events", severity, spec, part, title, text, fix)  # type: ignore[arg-type]


def _fsm(id: str, severity: str, spec: str, part: str, title: str, text: str, fix: str) -> Rule:
    return Rule(id, "http.fsm", severity, spec, part, title, text, fix)  # type: ignore[arg-type]


_START = "Response Start - send event"
_BODY = "Response Body - send event"

RULES = (
    _ev("http.status-int", "error", WWW, _START, "status is an int",
        "status (int) - HTTP status code.",
        "Send the status as an int: 200, not '200'."),
    _ev("http.status-range", "error", "RFC 9110", "§15 Status Codes",
        "status is a three-digit code, 100 to 599",
        "The status code of a response is a three-digit integer code ... values outside the "
        "range 100..599 are invalid.",
        "Use a status code between 100 and 599."),
    _ev("http.status-informational", "error", WWW, _START, "no 1xx status in http.response.start",
        "Starts sending a response to the client ... the final response; an interim 1xx "
        "response is not one (early hints have their own extension, 101 is the WebSocket "
        "protocol's).",
        "Send a final status (200-599); for 103 use the early hints extension."),
    _ev("http.headers-shape", "error", WWW, _START, "headers are [name, value] pairs of bytes",
        "headers (Iterable[[byte string, byte string]]) - An iterable of [name, value] "
        "two-item iterables, where name is the header name, and value is the header value.",
        "Send headers as [(b'name', b'value'), ...] (bytes, encoded as latin-1)."),
    _ev("http.header-lowercase", "warning", WWW, _START, "header names are lower-case",
        "Header names must be lowercased.",
        "Lower-case header names: b'content-type', not b'Content-Type'."),
    _ev("http.header-pseudo", "error", WWW, _START, "no pseudo headers",
        "Pseudo headers (present in HTTP/2 and HTTP/3) must not be present.",
        "Drop headers whose names start with ':'."),
    _ev("http.header-name-token", "error", "RFC 9110", "§5.1 Field Names",
        "a header name is a token",
        "field-name = token; token = 1*tchar (letters, digits and !#$%&'*+-.^_`|~).",
        "Use only token characters in header names (no spaces, colons or controls)."),
    _ev("http.header-value-chars", "error", "RFC 9110", "§5.5 Field Values",
        "no CR, LF or NUL in a header value",
        "Field values containing CR, LF or NUL characters are invalid and dangerous, due "
        "to the varying ways that implementations might parse and interpret those "
        "characters; a recipient of CR, LF or NUL within a field value MUST either reject "
        "the message or replace each of those characters with SP.",
        "Strip CR, LF and NUL from header values (they split the response)."),
    _ev("http.flag-bool", "error", WWW, _BODY, "more_body, trailers and more_trailers are bools",
        "more_body (bool) - Signifies if there is additional content to come (as part of a "
        "Response Body message). trailers (bool) - Signifies if the application will send "
        "trailers.",
        "Send True or False, not a truthy value such as 'no' or 1."),
    _ev("http.body-bytes", "error", WWW, _BODY, "body is bytes, not str",
        "body (byte string) - HTTP body content. Concatenated onto any previous body values "
        "sent in this connection scope. Optional; if missing defaults to b''.",
        "Encode the body: text.encode('utf-8')."),
    _ev("http.content-length", "error", "RFC 9112", "§6.3; RFC 9110 §8.6",
        "Content-Length agrees with the body sent",
        "If a valid Content-Length header field is present, its value is the number of "
        "octets of the body; a sender must not send more, and a message with fewer is "
        "incomplete.",
        "Send exactly as many body bytes as Content-Length says, or leave the header out."),
    _ev("http.content-length-value", "error", "RFC 9110", "§8.6 Content-Length",
        "Content-Length is a number",
        "Content-Length = 1*DIGIT ... a sender MUST NOT send a Content-Length header field "
        "... whose value is not a valid number of octets.",
        "Write Content-Length as decimal digits of the body's length."),
    _ev("http.content-length-once", "error", "RFC 9110", "§8.6 Content-Length",
        "one Content-Length",
        "a recipient ... MAY either reject the message as invalid or replace the duplicated "
        "field values with a single valid Content-Length field ... if they are identical; "
        "differing values make the message invalid.",
        "Send one Content-Length header."),
    _ev("http.content-length-forbidden", "warning", "RFC 9110", "§8.6 Content-Length",
        "no Content-Length on 1xx or 204",
        "A server MUST NOT send a Content-Length header field in any response with a status "
        "code of 1xx (Informational) or 204 (No Content).",
        "Leave Content-Length out of 204 responses."),
    _ev("http.transfer-encoding-length", "warning", "RFC 9112", "§6.2 Content-Length",
        "not both Transfer-Encoding and Content-Length",
        "A sender MUST NOT send a Content-Length header field in any message that contains "
        "a Transfer-Encoding header field.",
        "Send one of the two (or neither: the server frames the body itself)."),
    _ev("http.no-content-body", "warning", "RFC 9110", "§15.3.5, §15.4.5",
        "no body on 204 or 304",
        "A 204 response is terminated by the end of the header section; it cannot contain "
        "content or trailers. A 304 response is terminated by the end of the header "
        "section; it cannot contain content or trailers.",
        "Send an empty body with 204 and 304 (servers drop what you send)."),
    _fsm("http.start-first", "error", WWW, _START, "http.response.start comes first",
         "Starts sending a response to the client. Needs to be followed by at least one "
         "response content message. (A response body continues a started response.)",
         "Send http.response.start before any body."),
    _fsm("http.start-once", "error", WWW, _START, "one http.response.start per response",
         "Starts sending a response to the client: a response has exactly one start.",
         "Send http.response.start once; a second response needs a new request."),
    _fsm("http.after-complete", "error", WWW, _BODY, "nothing after the response completed",
         "more_body: If False, response will be taken as complete and closed, and any "
         "further messages on the channel will be ignored.",
         "Stop sending after more_body False (set more_body=True on the earlier chunks)."),
    _fsm("http.incomplete", "error", WWW, _START, "the app finishes its response",
         "Needs to be followed by at least one response content message; the response is "
         "complete only when a body message has more_body False (and announced trailers "
         "have been sent).",
         "End every response with a body message whose more_body is False."),
    _fsm("http.receive-after-disconnect", "warning", WWW, "Disconnect - receive event",
         "no receive() after http.disconnect",
         "Sent to the application if receive is called after a response has been sent or "
         "after the HTTP connection has been closed. After it, the exchange is over: every "
         "further receive() returns it again (a loop on receive() spins).",
         "Stop calling receive() once it returned http.disconnect."),
    _fsm("http.send-after-disconnect", "info", WWW, "Disconnect - receive event",
         "nothing sent after http.disconnect",
         "If send() is called on a closed connection the server should raise a "
         "server-specific subclass of OSError (the client is gone: nothing reaches it).",
         "Stop the response once receive() returned http.disconnect."),
)  # fmt: skip
