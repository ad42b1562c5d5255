"""Checks of what `vigil-lab --report DIR` writes, shared by the netns lab tests (real reports)
and tests/lab/report_schema_test.py (the report code's output from fixed records):

  report.json validates against docs/lab-report.schema.json (JSON Schema draft 2020-12, Debian's
  python3-jsonschema), and its counts agree with its runs;
  junit.xml is well-formed and says what report.json says: one testsuite per drill, one testcase
  per run, a failure element (first reason as its message, every reason in its text) exactly for
  the failed runs;
  index.html is well-formed XML, self-contained (no script, nothing fetched), has a section per
  drill, every failure reason, and a timeline (SVG) for each run that ran: at least one per
  passed run, at most one per run; chromium_problems() also has Chromium load it.

Each check returns a list of problems; empty means the output is right.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "lab-report.schema.json"


def schema_problems(report: object, schema_path: Path = SCHEMA) -> list[str]:
    import jsonschema  # python3-jsonschema (scripts/install-deps)

    schema = json.loads(schema_path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    problems = [f"report.json {'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
                for e in validator.iter_errors(report)]
    if problems:
        return problems
    # What the schema cannot say: the counts agree with the runs.
    all_passed = bool(report["drills"])
    for drill in report["drills"]:
        runs = drill["runs_detail"]
        passed = sum(1 for r in runs if r["passed"])
        if drill["runs"] != len(runs) or drill["passed"] != passed:
            problems.append(f"report.json drill {drill['name']}: runs {drill['runs']} passed "
                            f"{drill['passed']}, but runs_detail has {len(runs)} runs, {passed} "
                            "passed")
        for r in runs:
            if r["passed"] == bool(r["failures"]):
                problems.append(f"report.json drill {drill['name']} run {r['run']}: passed "
                                f"{r['passed']} with failures {r['failures']}")
        all_passed = all_passed and passed == len(runs)
    if report["passed"] != all_passed:
        problems.append(f"report.json passed is {report['passed']}, the runs say {all_passed}")
    return problems


def junit_problems(junit_text: str, report: dict) -> list[str]:
    try:
        root = ET.fromstring(junit_text)
    except ET.ParseError as e:
        return [f"junit.xml is not well-formed XML: {e}"]
    problems = []
    if root.tag != "testsuites":
        return [f"junit.xml: root element <{root.tag}>, expected <testsuites>"]
    suites = root.findall("testsuite")
    if [s.get("name") for s in suites] != [d["name"] for d in report["drills"]]:
        return [f"junit.xml suites {[s.get('name') for s in suites]}, report.json drills "
                f"{[d['name'] for d in report['drills']]}"]
    total = failed_total = 0
    for suite, drill in zip(suites, report["drills"]):
        cases = suite.findall("testcase")
        failed = drill["runs"] - drill["passed"]
        total += drill["runs"]
        failed_total += failed
        if suite.get("tests") != str(drill["runs"]) or suite.get("failures") != str(failed):
            problems.append(f"junit.xml suite {drill['name']}: tests {suite.get('tests')} "
                            f"failures {suite.get('failures')}, expected {drill['runs']} / "
                            f"{failed}")
        if len(cases) != len(drill["runs_detail"]):
            problems.append(f"junit.xml suite {drill['name']}: {len(cases)} testcases, "
                            f"{len(drill['runs_detail'])} runs")
            continue
        for case, run in zip(cases, drill["runs_detail"]):
            name = f"{drill['name']} run {run['run']}"
            if case.get("name") != name:
                problems.append(f"junit.xml testcase {case.get('name')!r}, expected {name!r}")
            failures = case.findall("failure")
            if run["passed"]:
                if failures:
                    problems.append(f"junit.xml {name}: a failure element for a passed run")
                continue
            if len(failures) != 1:
                problems.append(f"junit.xml {name}: {len(failures)} failure elements, expected 1")
                continue
            if failures[0].get("message") != run["failures"][0]:
                problems.append(f"junit.xml {name}: failure message "
                                f"{failures[0].get('message')!r}, expected {run['failures'][0]!r}")
            text = failures[0].text or ""
            for reason in run["failures"]:
                if reason not in text:
                    problems.append(f"junit.xml {name}: the failure text lacks {reason!r}")
    if root.get("tests") != str(total) or root.get("failures") != str(failed_total):
        problems.append(f"junit.xml testsuites: tests {root.get('tests')} failures "
                        f"{root.get('failures')}, expected {total} / {failed_total}")
    return problems


def html_problems(html: str, report: dict) -> list[str]:
    try:
        root = ET.fromstring(html.split("\n", 1)[1] if html.startswith("<!DOCTYPE") else html)
    except ET.ParseError as e:
        return [f"index.html is not well-formed: {e}"]
    problems = []
    for bad in ("<script", " src=", "url(", "@import", "href=\"http"):
        if bad in html:
            problems.append(f"index.html is not self-contained: it has {bad!r}")
    ids = {e.get("id") for e in root.iter(f"{XHTML}h2")}
    text = "".join(root.itertext())
    runs = passed = 0
    for drill in report["drills"]:
        if drill["name"] not in ids:
            problems.append(f"index.html has no section for drill {drill['name']}")
        for run in drill["runs_detail"]:
            runs += 1
            passed += run["passed"]
            for reason in run["failures"]:
                if reason not in text:
                    problems.append(f"index.html lacks the reason {reason!r}")
    svgs = list(root.iter(f"{SVG}svg"))
    if not passed <= len(svgs) <= runs:
        problems.append(f"index.html has {len(svgs)} timelines for {runs} runs ({passed} passed)")
    for svg in svgs:
        if not any(r.find(f"{SVG}title") is not None for r in svg.iter(f"{SVG}rect")):
            problems.append("index.html has a timeline without a single state or VIP segment")
            break
    return problems


def chromium_problems(html_path: str | Path) -> list[str]:
    """Chromium (headless) loads index.html: its DOM has the page's heading and every timeline."""
    html_path = Path(html_path).resolve()
    expected = len(re.findall(r"<svg[ >]", html_path.read_text()))
    with tempfile.TemporaryDirectory(prefix="vigil-lab-chromium-") as profile:
        proc = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--dump-dom", html_path.as_uri()],
            capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        return [f"chromium exited {proc.returncode}: {proc.stderr[-500:]}"]
    dom = proc.stdout
    problems = []
    if "vigil-lab: " not in dom or "<h1" not in dom:
        problems.append("Chromium's DOM has no vigil-lab heading")
    if len(re.findall(r"<svg[ >]", dom)) != expected:
        problems.append(f"Chromium's DOM has {len(re.findall(r'<svg[ >]', dom))} timelines, the "
                        f"file {expected}")
    return problems


def report_dir_problems(directory: str | Path) -> list[str]:
    """report.json, junit.xml and index.html of one --report DIR."""
    directory = Path(directory)
    report = json.loads((directory / "report.json").read_text())
    problems = schema_problems(report)
    if problems:
        return problems
    problems = junit_problems((directory / "junit.xml").read_text(), report)
    return problems + html_problems((directory / "index.html").read_text(), report)
