#!/usr/bin/python3
"""report.json, junit.xml and index.html as src/lab/report.cc writes them (report_sample: fixed records that
reach every field's shapes) validate against docs/lab-report.schema.json and agree with each
other (integration/lab/report_check.py, which the netns lab tests apply to real reports). The
negative cases show the check fails when the output drifts from the schema.

  report_schema_test.py --sample PATH_TO_report_sample
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration" / "lab"))
from report_check import (html_problems, junit_problems, report_dir_problems,  # noqa: E402
                          schema_problems)

failures: list[str] = []


def expect(condition: bool, what: str) -> None:
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-lab-report-") as tmp:
        subprocess.run([args.sample, tmp], check=True, timeout=60)
        problems = report_dir_problems(tmp)
        expect(problems == [], f"the sample report and junit.xml pass: {problems}")
        report = json.loads(Path(tmp, "report.json").read_text())
        junit = Path(tmp, "junit.xml").read_text()
        html = Path(tmp, "index.html").read_text()

    # The sample reaches the shapes the schema allows: nulls and values, failed and passed runs.
    kill = report["drills"][0]
    expect(report["ipvs_note"] is None and kill["two_masters_since"] is None,
           "the sample has null values")
    expect(any(not r["passed"] for r in kill["runs_detail"]), "the sample has a failed run")
    rs_fail = next(d for d in report["drills"] if d["name"] == "rs-fail")
    expect(rs_fail["rs_change"] is not None and rs_fail["runs_detail"][0]["rs_events"] != [],
           "the sample has an rs-fail run with RS lines")
    expect("real server out on both directors after 900.0 ms" in junit,
           "junit.xml says what rs-fail measured")
    expect("&lt;reason&gt;" in junit and "&quot;quotes&quot; &amp;" in junit,
           "junit.xml escapes markup in a reason")

    def drifted(what: str, change) -> None:
        bad = copy.deepcopy(report)
        change(bad)
        expect(schema_problems(bad) != [], f"drift is caught: {what}")

    drifted("a required field missing (runs_detail[0].takeovers)",
            lambda r: r["drills"][0]["runs_detail"][0].pop("takeovers"))
    drifted("a field the schema does not know (drills[0].extra)",
            lambda r: r["drills"][0].__setitem__("extra", 1))
    drifted("a wrong type (vip_move_ms as a string)",
            lambda r: r["drills"][0]["runs_detail"][0].__setitem__("vip_move_ms", "350 ms"))
    drifted("an unknown drill name", lambda r: r["drills"][0].__setitem__("name", "reboot"))
    drifted("an unknown state", lambda r: r["drills"][0]["runs_detail"][0]["states"][0]
            .__setitem__("state", "PRIMARY"))
    drifted("another schema version", lambda r: r.__setitem__("schema", "vigil-lab-report/1"))
    drifted("an RS line without up", lambda r: next(
        d for d in r["drills"] if d["name"] == "rs-fail")["runs_detail"][0]["rs_events"][0]
        .pop("up"))
    drifted("three directors", lambda r: r["directors"].append(r["directors"][0]))
    drifted("counts that disagree with the runs", lambda r: r["drills"][0].__setitem__("passed", 3))

    expect(junit_problems(junit.replace("</testsuites>", ""), report) != [],
           "a truncated junit.xml is not well-formed")
    expect(junit_problems(junit.replace("<failure ", "<skipped ", 1).replace(
        "</failure>", "</skipped>", 1), report) != [],
        "junit.xml without the failure of a failed run is caught")

    # index.html: the sample's timelines (one per run that ran), escaped reasons, and the checks
    # catch a broken page.
    expect(html.count("<svg ") == 7, f"index.html has a timeline per run that ran: "
           f"{html.count('<svg ')}")
    expect("<title>VI_1 on d2: MASTER from +350 ms to +2000 ms</title>" in html,
           "the kill timeline shows d2 MASTER from the takeover to the end")
    expect("<title>client to 192.0.2.200: no reply from +0 ms to +370 ms</title>" in html,
           "the kill timeline shows the client's outage in 10 ms buckets")
    expect("a &lt;reason&gt; with &quot;quotes&quot; &amp; an ampersand" in html,
           "index.html escapes markup in a reason")
    expect(html_problems(html.replace("</body>", ""), report) != [],
           "a truncated index.html is not well-formed")
    expect(html_problems(html.replace("<svg ", "<svg data-x=\"1\" ", 1).replace(
        "</body>", "<script>alert(1)</script></body>"), report) != [],
        "a script in index.html is caught")
    expect(html_problems(html.replace('id="loss"', 'id="lost"'), report) != [],
           "a drill without its section is caught")
    print("PASS" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
