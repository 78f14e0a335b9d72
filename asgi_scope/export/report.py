"""The spec checker's findings as a CI report: SARIF 2.1.0, JUnit XML or JSON.

``asgi-scope APP --report FILE --report-format sarif|junit|json`` (and ``attach``,
``proxy``) writes one at shutdown
from the :class:`~asgi_scope.trace.events.SpecViolation` events of the session
(muted rules left out). Each finding names its rule (id, severity, the spec's
words, where, a fix: :mod:`asgi_scope.trace.rules`), the exchange and what the
app (or the server) did.

- SARIF 2.1.0 (OASIS, "Static Analysis Results Interchange Format"): one run,
  the catalogue's rules as ``tool.driver.rules``, a result per finding with
  ``level`` error / warning / note, located at the app (``APP`` as the artifact
  URI: there is no source line for a message sent at run time);
- JUnit XML (the schema pytest's ``junitxml`` and CI servers read): one
  ``testsuite``, a ``testcase`` per rule that was broken, a ``failure`` per
  error/warning finding (info and perf are ``system-out``);
- JSON: ``{"app", "findings": [{"rule", "severity", ..., "detail"}], "rules": {...}}``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from asgi_scope.export.redact import DEFAULT, Redactor
from asgi_scope.trace.events import SpecViolation
from asgi_scope.trace.private_file import create_private
from asgi_scope.trace.rules import COUNTED, RULES, rule, severity_of

FORMATS = ("sarif", "junit", "json")
"""The report formats ``--report-format`` takes."""

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note", "perf": "note"}


def _finding(event: SpecViolation) -> dict[str, Any]:
    return {
        "rule": event.rule,
        "severity": severity_of(event.rule),
        "section": event.section,
        "detail": event.detail,
        "exchange": event.exchange,
        "conn": event.conn,
        "seq": event.seq,
        "t_ns": event.t_ns,
    }


def json_report(findings: Sequence[SpecViolation], app: str, version: str) -> dict[str, Any]:
    """The findings as a JSON-ready dict, with the records of the rules they broke."""
    broken = sorted({f.rule for f in findings})
    return {
        "tool": {"name": "asgi-scope", "version": version},
        "app": app,
        "findings": [_finding(f) for f in findings],
        "rules": {r: RULES[r].record() for r in broken if r in RULES},
    }


def sarif(findings: Sequence[SpecViolation], app: str, version: str) -> dict[str, Any]:
    """The findings as a SARIF 2.1.0 log (one run; every catalogue rule listed)."""
    ids = list(RULES)
    index = {rule_id: i for i, rule_id in enumerate(ids)}
    rules = [
        {
            "id": r.id,
            "name": r.title,
            "shortDescription": {"text": r.title},
            "fullDescription": {"text": r.text},
            "help": {"text": f"{r.fix} ({r.section})"},
            "defaultConfiguration": {"level": _SARIF_LEVELS[r.severity]},
            "properties": {
                "severity": r.severity,
                "layer": r.layer,
                "spec": r.spec,
                "section": r.section,
                "side": r.side,
            },
        }
        for r in RULES.values()
    ]
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _SARIF_LEVELS[severity_of(f.rule)],
            "message": {"text": f"{f.detail} (exchange #{f.exchange})"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(app)}}}],
            "properties": {"exchange": f.exchange, "conn": f.conn, "seq": f.seq},
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "asgi-scope",
                        "version": version,
                        "informationUri": "https://asgi.readthedocs.io/",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def _uri(app: str) -> str:
    """The app as an artifact URI: its module's file path (``main:app`` → ``main.py``),
    or a URL as it is (``proxy``'s upstream)."""
    if "://" in app:
        return app
    module = app.partition(":")[0] or app
    return module.replace(".", "/") + ".py"


def junit(findings: Sequence[SpecViolation], app: str) -> str:
    """The findings as JUnit XML: a test case per broken rule, a failure per
    error or warning finding."""
    by_rule: dict[str, list[SpecViolation]] = {}
    for f in findings:
        by_rule.setdefault(f.rule, []).append(f)
    failures = sum(1 for f in findings if severity_of(f.rule) in COUNTED)
    suite = ET.Element(
        "testsuite",
        name=f"asgi-scope spec check of {app}",
        tests=str(max(len(by_rule), 1)),
        failures=str(sum(
            1 for fs in by_rule.values() if any(severity_of(f.rule) in COUNTED for f in fs))),
        errors="0",
        skipped="0",
    )  # fmt: skip
    suite.set("findings", str(failures))
    if not by_rule:
        ET.SubElement(suite, "testcase", classname="asgi-scope", name="no spec violations")
    for rule_id, found in by_rule.items():
        known = rule(rule_id)
        case = ET.SubElement(suite, "testcase", classname=f"asgi-scope.{rule_id.split('.')[0]}",
                             name=rule_id)  # fmt: skip
        failing = [f for f in found if severity_of(rule_id) in COUNTED]
        lines = [f"#{f.exchange}: {f.detail}" for f in found]
        if failing:
            failure = ET.SubElement(
                case, "failure", type=severity_of(rule_id),
                message=f"{rule_id}: {found[0].detail}" + (f" (+{len(found) - 1} more)"
                                                          if len(found) > 1 else ""),
            )  # fmt: skip
            failure.text = "\n".join(
                [
                    *lines,
                    "",
                    f"The spec says: {known.text}" if known else "",
                    f"Fix: {known.fix} ({known.section})" if known else "",
                ]
            )
        else:
            ET.SubElement(case, "system-out").text = "\n".join(lines)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def write_report(
    path: str | os.PathLike[str],
    fmt: str,
    findings: Sequence[SpecViolation],
    app: str,
    version: str,
    redact: Redactor = DEFAULT,
) -> None:
    """Write the report of ``findings`` to ``path`` in ``fmt`` (one of
    :data:`FORMATS`), mode 0600, never through a symlink; each finding's detail
    goes through ``redact`` (:meth:`~asgi_scope.export.redact.Redactor.detail`: a
    report leaves the live view). Raises ``OSError``
    (:class:`~asgi_scope.trace.private_file.NotPrivate` for a path that is not the
    user's own regular file) or ``ValueError`` for an unknown format."""
    findings = [dataclasses.replace(f, detail=redact.detail(f.detail)) for f in findings]
    if fmt == "sarif":
        text = json.dumps(sarif(findings, app, version), indent=2)
    elif fmt == "json":
        text = json.dumps(json_report(findings, app, version), indent=2)
    elif fmt == "junit":
        text = junit(findings, app)
    else:
        raise ValueError(f"unknown report format {fmt!r}")
    with create_private(path) as handle:
        handle.write(text + "\n")
