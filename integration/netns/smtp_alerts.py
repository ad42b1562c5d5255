#!/usr/bin/python3
"""SMTP alerts from vigild's VRRP side to a real SMTP server (CTest netns.vigild.smtp-alerts).

  smtp_alerts.py --vigild PATH [--keep]

The client namespace of a vlab runs aiosmtpd (Debian's python3-aiosmtpd) on 192.0.2.100:2525,
recording every message it accepts (envelope and data) as a JSON line. d1 runs vigild -P (VRRP
only, as every netns scenario: the build machines' kernel has no IPVS, so the checker side's
alerts are covered by the unit tests, tests/check/verdict_test.cc and engine_test.cc) with
smtp_server, notification_email and smtp_alert on its instance and sync group. It enters BACKUP,
then MASTER, then stops on SIGTERM: the server must receive keepalived 2.2.7's messages for each
(envelope, Subject, body, From / To / X-Mailer / Date headers). d2 then points at a port where
nothing listens: vigild logs the failure at warn naming the server, does not retry, and its VRRP
goes on (it becomes MASTER).
"""

from __future__ import annotations

import email
import email.utils
import json
import signal
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vlab  # noqa: E402
from vlab import wait_until  # noqa: E402

SMTP_ADDR = vlab.ADDR4["c"]
SMTP_PORT = 2525
DEAD_PORT = 2526  # nothing listens there
FROM = "vigil-lab@example.com"
TO = ["ops@example.com", "oncall@example.com"]

# aiosmtpd in the client namespace: one JSON line per accepted message.
SERVER = r'''
import asyncio, json, sys
from aiosmtpd.controller import Controller

host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]

class Recorder:
    async def handle_DATA(self, server, session, envelope):
        with open(out, "a") as f:
            f.write(json.dumps({"helo": session.host_name, "mail_from": envelope.mail_from,
                                "rcpt_tos": envelope.rcpt_tos,
                                "data": envelope.original_content.decode("utf-8", "replace")})
                    + "\n")
        return "250 OK"

controller = Controller(Recorder(), hostname=host, port=port)
controller.start()
print("listening", flush=True)
try:
    asyncio.new_event_loop().run_until_complete(asyncio.sleep(3600))
finally:
    controller.stop()
'''


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def config(port: int, router_id: str) -> str:
    emails = "".join(f"    {address}\n" for address in TO)
    extra = (f"  router_id {router_id}\n  smtp_server {SMTP_ADDR} {port}\n"
             f"  smtp_helo_name {router_id.lower()}.example.com\n  smtp_connect_timeout 5\n"
             f"  notification_email_from {FROM}\n  notification_email {{\n{emails}  }}\n")
    group = "vrrp_sync_group G1 {\n  group {\n    VI_1\n    VI_2\n  }\n  smtp_alert\n}\n"
    return (vlab.global_defs(extra) + group +
            vlab.instance("VI_1", vrid=51, priority=150, advert_int=0.2, version=3,
                          extra="smtp_alert") +
            vlab.instance("VI_2", vrid=52, priority=150, advert_int=0.2, version=3,
                          vips=(vlab.VIP4_B,)))


def messages(path: Path) -> list[dict]:
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError):
        return []


def expect_message(msg: dict, subject: str, body: str, since: float) -> None:
    check(msg["mail_from"] == FROM, f"MAIL FROM {msg['mail_from']!r}")
    check(msg["rcpt_tos"] == TO, f"RCPT TO {msg['rcpt_tos']!r}")
    check(msg["helo"] == "lab_d1.example.com", f"HELO {msg['helo']!r}")
    parsed = email.message_from_string(msg["data"])
    check(parsed["Subject"] == subject, f"Subject {parsed['Subject']!r}, expected {subject!r}")
    check(parsed["From"] == FROM, f"From {parsed['From']!r}")
    check(parsed["To"] == ", ".join(TO), f"To {parsed['To']!r}")
    check(parsed["X-Mailer"] == "Keepalived", f"X-Mailer {parsed['X-Mailer']!r}")
    date = email.utils.parsedate_to_datetime(parsed["Date"])
    # Written when the alert was raised: within this run (whole seconds).
    check(int(since) <= date.timestamp() <= time.time(), f"Date {parsed['Date']!r}")
    check(parsed.get_payload().strip() == body, f"body {parsed.get_payload()!r}, expected {body!r}")
    # The headers are exactly keepalived's five.
    check(sorted(parsed.keys()) == ["Date", "From", "Subject", "To", "X-Mailer"],
          f"headers {parsed.keys()}")


def run(lab: vlab.Lab) -> None:
    since = time.time()
    received = lab.work / "received.jsonl"
    script = lab.work / "smtp_server.py"
    script.write_text(SERVER)
    log = lab.work / "smtp_server.log"
    lab.spawn("c", ["/usr/bin/python3", str(script), SMTP_ADDR, str(SMTP_PORT), str(received)],
              log=log)
    wait_until(lambda: "listening" in log.read_text(errors="replace"), 10, "aiosmtpd listening")

    d1 = lab.start("d1", "vigild", config(SMTP_PORT, "LAB_D1"))
    lab.wait_sole_holder("d1", timeout=10)
    expected = [
        ("[LAB_D1] VRRP Instance VI_1 - Entering BACKUP state",
         "=> VRRP Instance is no longer owning VRRP VIPs <="),
        ("[LAB_D1] VRRP Group G1 - Entering BACKUP state",
         "=> All VRRP group instances are now in BACKUP state <="),
        ("[LAB_D1] VRRP Instance VI_1 - Entering MASTER state",
         "=> VRRP Instance is now owning VRRP VIPs <="),
        ("[LAB_D1] VRRP Group G1 - Entering MASTER state",
         "=> All VRRP group instances are now in MASTER state <="),
    ]
    wait_until(lambda: len(messages(received)) >= len(expected), 15, "the four alerts")
    d1.terminate()
    expected += [
        ("[LAB_D1] VRRP Instance VI_1 - Stopping", "=> VRRP Instance stopping <="),
        ("[LAB_D1] VRRP Group G1 - Stopping",
         "=> All VRRP group instances are now stopping <="),
    ]
    wait_until(lambda: len(messages(received)) >= len(expected), 10, "the stop alerts")
    got = messages(received)
    check(len(got) == len(expected),
          f"{len(got)} messages, expected {len(expected)}: {[m['data'] for m in got]}")
    for msg, (subject, body) in zip(got, expected):
        expect_message(msg, subject, body, since)
    text = d1.log_text()
    check(text.count("vrrp alert sent") == len(expected), f"d1's log:\n{text}")
    print(f"  {len(got)} alerts received with keepalived's envelope, headers and texts")

    # No server at the address: a warning naming it, no retry, VRRP unaffected.
    d2 = lab.start("d2", "vigild", config(DEAD_PORT, "LAB_D2"))
    lab.wait_sole_holder("d2", timeout=10)
    wait_until(lambda: d2.log_text().count("alert not sent") >= 4, 15, "d2's failures")
    time.sleep(1.0)
    text = d2.log_text()
    check(f"[SMTP {SMTP_ADDR}:{DEAD_PORT}] vrrp alert not sent (not retried)" in text,
          f"d2's log names no server:\n{text}")
    check(text.count("alert not sent") == 4, f"d2 retried:\n{text}")
    check(len(messages(received)) == len(expected), "d2's alerts reached the server")
    lab.check_daemons()
    d2.terminate()
    lab.check_daemons()


def main() -> int:
    return vlab.run_vigild_scenario(
        "smtp-alerts", __doc__.splitlines()[0], run,
        lambda lab: [("aiosmtpd", lab.work / "smtp_server.log")])


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
