#!/usr/bin/python3
"""One real-server fixture per checker type (CTest netns.vigild.checker.TYPE).

  checker_fixtures.py --type TYPE --vigild PATH-OF-vigild-recording [--keep]

TYPE is tcp, http, ssl, dns, smtp, udp, ping, misc or file. A vlab's d1 runs vigild-recording -C
(vigild's checkers, verdicts and LvsController over an in-memory IPVS table that journals each
operation with its CLOCK_MONOTONIC time: the build machines' kernel has no IPVS) with a
keepalived-syntax configuration; the client namespace c is the real servers' host and runs real
Debian servers: python3's socketserver / http.server / ssl, `openssl s_server -WWW`, dnsmasq and
a python3-dnslib server, python3-aiosmtpd. Each fixture records the exact bytes the server got
and the test compares them with what keepalived 2.2.7 sends; then a fault is applied in c (an nft
drop rule, a broken reply, icmp_echo_ignore_all, a script's exit code, a file's value) and taken
back, and the journal must show the datapath operations in order: each one after the change that
caused it (times compared with the fault's, never with a wall-clock bound). Every checker has
`alpha`, so a NEW_DEST at start proves a check passed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vlab  # noqa: E402
from vlab import wait_until  # noqa: E402

RS = vlab.ADDR4["c"]  # every real server listens in c
VIP = "192.0.2.50"  # only in the recorded table: nothing routes it
TIMEOUT = 15.0  # bound of each wait for a datapath operation


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def now_ms() -> float:
    return time.monotonic() * 1000.0


# ---- the director ----------------------------------------------------------------------------
class Director:
    """vigild-recording -C on d1 with keepalived's flags (vlab.DaemonKind), its journal and its
    IPVS ownership file in the lab's work directory (never /run/vigil: parallel runs must not
    share it)."""

    def __init__(self, lab: vlab.Lab, config: str):
        self.lab = lab
        self.journal = lab.work / "datapath.jsonl"
        state = lab.work / "d1" / "ipvs-owned.conf"
        kind = vlab.DaemonKind("vigild", str(Path(lab.vigild).resolve()),
                               args=("--record", str(self.journal), "-C",
                                     "--ipvs-state-file", str(state)),
                               vrrp_only=False)
        self.daemon = lab.start("d1", kind, config)

    def ops(self) -> list[dict]:
        try:
            text = self.journal.read_text()
        except OSError:
            return []
        # A line being appended may be cut: only whole lines count.
        return [json.loads(line) for line in text.splitlines(keepends=True)
                if line.endswith("\n")]

    def dest_ops(self, dest: str) -> list[dict]:
        return [op for op in self.ops() if op.get("dest") == dest]

    def wait_op(self, dest: str, op: str, after_ms: float, what: str) -> dict:
        """The first `op` on `dest` recorded after after_ms (CLOCK_MONOTONIC)."""
        def found():
            self.lab.check_daemons()
            for entry in self.dest_ops(dest):
                if entry["op"] == op and entry["mono_ms"] > after_ms:
                    return entry
            return None
        return wait_until(found, TIMEOUT, what, interval=0.05)

    def table(self) -> dict[str, dict]:
        """The destinations the journal leaves in the table: dest -> last NEW/SET op."""
        current: dict[str, dict] = {}
        for entry in self.ops():
            check(entry["error"] == 0, f"an operation failed: {entry}")
            if entry["op"] in ("NEW_DEST", "SET_DEST"):
                current[entry["dest"]] = entry
            elif entry["op"] == "DEL_DEST":
                current.pop(entry["dest"], None)
        return current

    def expect_sequence(self, dest: str, kinds: list[str], marks: list[float]) -> None:
        """dest's operations are exactly `kinds`, the i-th recorded after marks[i]."""
        got = self.dest_ops(dest)
        check([e["op"] for e in got] == kinds,
              f"{dest}: operations {[e['op'] for e in got]}, expected {kinds}")
        for entry, mark in zip(got, marks):
            check(entry["mono_ms"] > mark,
                  f"{dest}: {entry['op']} at {entry['mono_ms']:.1f} ms is before its cause "
                  f"({mark:.1f} ms)")
        for entry in got:
            check(entry["error"] == 0, f"{dest}: {entry}")
            check(entry["service"] == got[0]["service"], f"{dest}: {entry}")

    def expect_service_first(self, service: str) -> None:
        ops = self.ops()
        check(ops and ops[0]["op"] == "NEW_SERVICE" and ops[0]["service"] == service,
              f"the first operation is not NEW_SERVICE {service}: {ops[:1]}")


def config(virtual_servers: str, extra_globals: str = "") -> str:
    return vlab.global_defs("  router_id fixtures\n" + extra_globals) + virtual_servers


def virtual_server(port: int, real_servers: str, protocol: str = "TCP") -> str:
    return (f"virtual_server {VIP} {port} {{\n  delay_loop 1\n  lvs_sched rr\n"
            f"  lvs_method NAT\n  protocol {protocol}\n{real_servers}}}\n")


def real_server(port: int, checker: str, weight: int = 1, address: str = RS) -> str:
    body = "\n".join("      " + line for line in checker.strip().splitlines())
    name = checker.split()[0]
    checker_body = body.split("\n", 1)[1] if "\n" in body else ""
    # Every checker but FILE_CHECK (which takes no timing keyword): alpha (a NEW_DEST proves a
    # pass), no warmup.
    timing = "" if name == "FILE_CHECK" else "      alpha\n      warmup 0\n"
    return (f"  real_server {address} {port} {{\n    weight {weight}\n    {name} {{\n"
            f"{timing}{checker_body}\n    }}\n  }}\n")


def spawn_python(lab: vlab.Lab, name: str, source: str, *args: str) -> Path:
    """Runs a fixture server in c (/usr/bin/python3: Debian's python3-* modules); returns its
    log, once it printed 'listening'."""
    script = lab.work / f"{name}.py"
    script.write_text(source)
    log = lab.work / f"{name}.log"
    lab.spawn("c", ["/usr/bin/python3", str(script), *args], log=log)
    wait_until(lambda: "listening" in log.read_text(errors="replace"), 10, f"{name} listening")
    return log


def records(path: Path) -> list[dict]:
    try:
        text = path.read_text()
    except OSError:
        return []
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


def set_mode(path: Path, mode: str) -> float:
    """Writes a fixture's mode file (renamed into place); returns the time just before: vigild
    may act on it before this process runs again."""
    t = now_ms()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(mode)
    tmp.rename(path)
    return t


# Helpers shared by the fixture servers: one JSON line per request, with the server's
# CLOCK_MONOTONIC time, appended at once.
COMMON = r'''
import json, os, sys, time, threading
_lock = threading.Lock()
def record(out, **fields):
    fields["mono_ms"] = time.monotonic() * 1000.0
    with _lock, open(out, "a") as f:
        f.write(json.dumps(fields) + "\n")
def mode(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return "ok"
'''


def fault_cycle(director: Director, dest: str, fault, restore, what: str) -> None:
    """NEW_DEST (first pass), then `fault()` -> DEL_DEST, `restore()` -> NEW_DEST, in order."""
    up = director.wait_op(dest, "NEW_DEST", 0, f"{dest} added after its first pass ({what})")
    # FILE_CHECK has no alpha: its first NEW_DEST is the start-up state; the checkers must run
    # before the fault, or the fault is what they read first.
    wait_until(lambda: "checkers running" in director.daemon.log_text(), TIMEOUT,
               "vigild's checkers running")
    t_fault = fault()
    director.wait_op(dest, "DEL_DEST", t_fault, f"{dest} removed after the fault ({what})")
    t_restore = restore()
    director.wait_op(dest, "NEW_DEST", t_restore, f"{dest} added back ({what})")
    director.expect_sequence(dest, ["NEW_DEST", "DEL_DEST", "NEW_DEST"],
                             [0, t_fault, t_restore])
    print(f"  {dest}: NEW_DEST at {up['t_ms']:.0f} ms, DEL_DEST after the fault, NEW_DEST "
          f"after the repair ({what})")


def expect_answered_first(director: Director, dest: str, seen: list[dict]) -> None:
    """The server recorded a request before it answered: its first record precedes the first
    NEW_DEST its answer caused."""
    first = director.dest_ops(dest)[0]
    check(seen and seen[0]["mono_ms"] < first["mono_ms"],
          f"{dest}: NEW_DEST at {first['mono_ms']:.1f} ms, before any request reached the server")


def expect_never_added(director: Director, dest: str, what: str) -> None:
    check(director.dest_ops(dest) == [], f"{dest} ({what}): {director.dest_ops(dest)}")


# ---- TCP_CHECK --------------------------------------------------------------------------------
TCP_SERVER = COMMON + r'''
import socketserver
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        accepted_ms = time.monotonic() * 1000.0
        self.request.settimeout(3)
        data = b""
        try:
            while chunk := self.request.recv(4096):
                data += chunk
        except OSError:
            pass
        record(out, peer=self.client_address[0], data=data.hex(), accepted_ms=accepted_ms)
socketserver.ThreadingTCPServer.allow_reuse_address = True
server = socketserver.ThreadingTCPServer((host, port), Handler)
server.daemon_threads = True
print("listening", flush=True)
server.serve_forever()
'''


def scenario_tcp(lab: vlab.Lab) -> None:
    seen = lab.work / "tcp.jsonl"
    spawn_python(lab, "tcp_server", TCP_SERVER, RS, "8080", str(seen))
    checker = "TCP_CHECK\n  connect_timeout 1\n  delay_before_retry 0.5\n  retry 0"
    director = Director(lab, config(virtual_server(80, real_server(8080, checker) +
                                                   real_server(8081, checker))))
    up = f"{RS}:8080"
    t_drop = []

    def drop() -> float:
        t_drop.append(now_ms())
        lab.nft("c", "table inet fixture {\n  chain in { type filter hook input priority 0; "
                     "tcp dport 8080 drop; }\n}\n")
        return t_drop[0]

    def undrop() -> float:
        t = now_ms()
        lab.exec("c", "nft", "delete", "table", "inet", "fixture")
        return t

    fault_cycle(director, up, drop, undrop, "nft drop: connect_timeout expires")
    director.expect_service_first(f"TCP {VIP}:80")
    conns = records(seen)
    check(conns, "the TCP server saw no connection")
    # TCP_CHECK connects and closes: no byte is sent.
    check(all(c["data"] == "" and c["peer"] == vlab.ADDR4["d1"] for c in conns),
          f"TCP_CHECK sent bytes: {conns}")
    # No order between the server's accept() and the NEW_DEST: the kernel completes the
    # handshake TCP_CHECK waits for before the server's thread accepts it.
    # Nothing listens on 8081 (a reset): never added.
    expect_never_added(director, f"{RS}:8081", "connection refused")
    check(f"[TCP {up}] UP -> DOWN (connect timed out after 1s)" in director.daemon.log_text(),
          "vigild's log does not name the connect timeout")
    print(f"  {len(conns)} connections, none carrying a byte; {RS}:8081 refused, never added")


# ---- HTTP_GET / SSL_GET -----------------------------------------------------------------------
HTTP_SERVER = COMMON + r'''
import http.server, socketserver, ssl
host, out, mode_file = sys.argv[1], sys.argv[2], sys.argv[3]
ports = [int(p) for p in sys.argv[4].split(",")]
tls = sys.argv[5:]  # certificate and key: TLS with SNI recorded
BODY = b"vigil fixture: healthy\n"

class Recorder:
    """The request's bytes as the handler reads them (request line and headers)."""
    def __init__(self, raw):
        self.raw, self.seen = raw, b""
    def readline(self, *args):
        line = self.raw.readline(*args)
        self.seen += line
        return line
    def read(self, *args):
        data = self.raw.read(*args)
        self.seen += data
        return data
    def __getattr__(self, name):
        return getattr(self.raw, name)

class Handler(http.server.BaseHTTPRequestHandler):
    def setup(self):
        super().setup()
        self.rfile = Recorder(self.rfile)
    def log_message(self, *args):
        pass
    def do_GET(self):
        broken = mode(mode_file) == "broken"
        sni = getattr(self.request, "fixture_sni", None) if tls else None
        record(out, port=self.server.server_address[1], raw=self.rfile.seen.decode("latin-1"),
               sni=sni)
        if self.path == "/healthz":
            code, body = (500, b"broken\n") if broken else (200, BODY)
        elif self.path == "/ready":
            code, body = 202, b""
        else:
            code, body = 404, b"no such page\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

context = None
if tls:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls[0], tls[1])
    def on_sni(sock, name, ctx):
        sock.fixture_sni = name
    context.sni_callback = on_sni

for port in ports:
    server = Server((host, port), Handler)
    if context:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
print("listening", flush=True)
threading.Event().wait()
'''

BODY = b"vigil fixture: healthy\n"


def http_request(path: str, host: str, version: str = "1.0", close: bool = False) -> str:
    """keepalived 2.2.7's request (check_http.c request_template), written out here."""
    return (f"GET {path} HTTP/{version}\r\nUser-Agent: KeepAliveClient\r\n"
            + ("Connection: close\r\n" if close else "") + f"Host: {host}\r\n\r\n")


def http_checker(kind: str, extra: str = "") -> str:
    digest = hashlib.md5(BODY).hexdigest()
    return (f"{kind}\n  url {{\n    path /healthz\n    digest {digest}\n  }}\n"
            f"  url {{\n    path /ready\n    status_code 202\n  }}\n"
            f"  connect_timeout 1\n  delay_before_retry 0.5\n  retry 0\n{extra}")


def expect_requests(seen: Path, port: int, expected: list[str]) -> list[dict]:
    got = [r for r in records(seen) if r["port"] == port]
    check(got, f"port {port}: no request")
    for r in got:
        check(r["raw"] in expected, f"port {port}: request {r['raw']!r}, expected one of "
                                    f"{expected!r}")
    check({r["raw"] for r in got} == set(expected),
          f"port {port}: requests {sorted({r['raw'] for r in got})!r}")
    return got


def http_fixture(lab: vlab.Lab, kind: str, tls: list[str]) -> tuple[Director, Path]:
    seen = lab.work / "http.jsonl"
    mode_file = lab.work / "http.mode"
    spawn_python(lab, "http_server", HTTP_SERVER, RS, str(seen), str(mode_file),
                 "8080,8081", *tls)
    sni = "  enable_sni\n" if tls else ""
    rss = (real_server(8080, http_checker(kind)) +
           real_server(8081, http_checker(kind, "  virtualhost www.example.test\n"
                                          "  http_protocol 1.1\n" + sni)))
    director = Director(lab, config(virtual_server(80, rss)))
    fault_cycle(director, f"{RS}:8080", lambda: set_mode(mode_file, "broken"),
                lambda: set_mode(mode_file, "ok"), "/healthz answers 500")
    # 8081 went down with the same fault and came back too.
    director.wait_op(f"{RS}:8081", "NEW_DEST", 0, "8081 added")
    director.expect_service_first(f"TCP {VIP}:80")
    for port in (8080, 8081):
        expect_answered_first(director, f"{RS}:{port}",
                              [r for r in records(seen) if r["port"] == port])
    # The exact bytes: address:port as Host without a virtualhost, HTTP/1.0, no Connection
    # header; the virtualhost alone (no port) with HTTP/1.1 and Connection: close.
    expect_requests(seen, 8080, [http_request("/healthz", f"{RS}:8080"),
                                 http_request("/ready", f"{RS}:8080")])
    expect_requests(seen, 8081, [http_request("/healthz", "www.example.test", "1.1", True),
                                 http_request("/ready", "www.example.test", "1.1", True)])
    print("  requests byte for byte as keepalived's request template, Host rules for both")
    return director, seen


def scenario_http(lab: vlab.Lab) -> None:
    http_fixture(lab, "HTTP_GET", [])


def make_certificate(lab: vlab.Lab) -> list[str]:
    cert, key = lab.work / "cert.pem", lab.work / "key.pem"
    vlab.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
              "-subj", "/CN=www.example.test", "-keyout", str(key), "-out", str(cert)],
             timeout=30)
    return [str(cert), str(key)]


def scenario_ssl(lab: vlab.Lab) -> None:
    tls = make_certificate(lab)
    director, seen = http_fixture(lab, "SSL_GET", tls)
    # SNI: only the checker with enable_sni sends one, the virtualhost.
    for r in records(seen):
        want = "www.example.test" if r["port"] == 8081 else None
        check(r["sni"] == want, f"port {r['port']}: SNI {r['sni']!r}, expected {want!r}")
    print("  SNI www.example.test with enable_sni, none without")

    # openssl s_server -WWW serves files from its directory: 200 and the file whatever it
    # holds ("Error opening" when missing), so the digest is what fails.
    www = lab.work / "www"
    www.mkdir()
    (www / "healthz").write_bytes(BODY)
    log = lab.work / "s_server.log"
    lab.spawn("c", ["openssl", "s_server", "-WWW", "-accept", f"{RS}:8443", "-cert", tls[0],
                    "-key", tls[1], "-naccept", "1000"], log=log, cwd=str(www))
    # Its own virtual server: checks of one real server at a time.
    digest = hashlib.md5(BODY).hexdigest()
    checker = (f"SSL_GET\n  url {{\n    path /healthz\n    digest {digest}\n  }}\n"
               "  connect_timeout 1\n  delay_before_retry 0.5\n  retry 0")
    director.daemon.terminate()
    director.journal.unlink()
    director2 = Director(lab, config(virtual_server(443, real_server(8443, checker))))
    dest = f"{RS}:8443"

    def corrupt() -> float:
        t = now_ms()
        tmp = www / "healthz.tmp"
        tmp.write_bytes(b"changed\n")
        tmp.rename(www / "healthz")
        return t

    def repair() -> float:
        t = now_ms()
        tmp = www / "healthz.tmp"
        tmp.write_bytes(BODY)
        tmp.rename(www / "healthz")
        return t

    fault_cycle(director2, dest, corrupt, repair, "openssl s_server -WWW, the digest changes")


# ---- DNS_CHECK --------------------------------------------------------------------------------
DNSLIB_SERVER = COMMON + r'''
import socketserver
from dnslib import DNSRecord, RR, QTYPE, RCODE, TXT
host, port, out, mode_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        record(out, query=data.hex())
        request = DNSRecord.parse(data)
        reply = request.reply()
        if mode(mode_file) == "broken":
            reply.header.rcode = RCODE.SERVFAIL
        else:
            reply.add_answer(RR(str(request.q.qname), QTYPE.TXT, rdata=TXT("fixture"), ttl=5))
        sock.sendto(reply.pack(), self.client_address)
server = socketserver.ThreadingUDPServer((host, port), Handler)
print("listening", flush=True)
server.serve_forever()
'''


def dns_query_bytes(name: str, qtype: int) -> bytes:
    """keepalived 2.2.7's query after the id (check_dns.c dns_make_query): flags RD only,
    QDCOUNT 1, the other counts 0, QNAME, QTYPE, QCLASS IN."""
    qname = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    return bytes.fromhex("0100 0001 0000 0000 0000") + qname + qtype.to_bytes(2, "big") + b"\0\1"


def scenario_dns(lab: vlab.Lab) -> None:
    seen = lab.work / "dns.jsonl"
    mode_file = lab.work / "dns.mode"
    spawn_python(lab, "dnslib_server", DNSLIB_SERVER, RS, "5300", str(seen), str(mode_file))
    dnsmasq_log = lab.work / "dnsmasq.log"
    dnsmasq_pid = lab.work / "dnsmasq.pid"

    def start_dnsmasq():
        dnsmasq_pid.unlink(missing_ok=True)
        proc = lab.spawn("c", ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                               "--bind-interfaces", f"--listen-address={RS}", "--port=5353",
                               f"--pid-file={dnsmasq_pid}",
                               "--user=root", "--log-queries", f"--log-facility={dnsmasq_log}",
                               "--local=/example.test/",
                               "--host-record=up.example.test,192.0.2.77"],
                         log=lab.work / "dnsmasq.out")
        wait_until(dnsmasq_pid.exists, 10, "dnsmasq started")
        return proc

    dnsmasq = start_dnsmasq()

    def dns_checker(name: str, qtype: str, port: int) -> str:
        return (f"DNS_CHECK\n  type {qtype}\n  name {name}\n  connect_port {port}\n"
                "  connect_timeout 1\n  delay_before_retry 0.5\n  retry 0")

    rss = (real_server(53, dns_checker("fixture.example.test", "TXT", 5300)) +
           real_server(54, dns_checker("up.example.test", "A", 5353)) +
           real_server(55, dns_checker("gone.example.test", "A", 5353)) +
           real_server(56, dns_checker("up.example.test", "MX", 5353)))
    director = Director(lab, config(virtual_server(53, rss, "UDP")))
    fault_cycle(director, f"{RS}:53", lambda: set_mode(mode_file, "broken"),
                lambda: set_mode(mode_file, "ok"), "dnslib answers SERVFAIL")
    director.expect_service_first(f"UDP {VIP}:53")
    expect_answered_first(director, f"{RS}:53", records(seen))
    queries = [bytes.fromhex(r["query"]) for r in records(seen)]
    check(queries, "dnslib saw no query")
    want = dns_query_bytes("fixture.example.test", 16)
    for q in queries:
        check(q[2:] == want, f"query {q.hex()}, expected <id>{want.hex()}")
    print(f"  {len(queries)} queries byte for byte as keepalived's (RD, QNAME, TXT, IN)")
    # dnsmasq: the A record passes; NXDOMAIN (rcode 3) fails; a type without records is
    # NOERROR without answers, which passes under keepalived's rule (rcode 0 is success).
    director.wait_op(f"{RS}:54", "NEW_DEST", 0, "up.example.test A")
    director.wait_op(f"{RS}:56", "NEW_DEST", 0, "up.example.test MX (NODATA)")
    expect_never_added(director, f"{RS}:55", "NXDOMAIN")
    log = dnsmasq_log.read_text(errors="replace")
    check("config gone.example.test is NXDOMAIN" in log and
          "config up.example.test is NODATA" in log and
          "config up.example.test is 192.0.2.77" in log,
          f"dnsmasq's log:\n{log[-2000:]}")
    print("  dnsmasq: A passes, MX without records (NOERROR) passes, NXDOMAIN never added")

    # dnsmasq gone (its port now answers with ICMP port unreachable) takes the A server out;
    # dnsmasq back brings it in again.
    def stop_dnsmasq() -> float:
        t = now_ms()
        lab.stop_helper(dnsmasq)
        return t

    def restart_dnsmasq() -> float:
        nonlocal dnsmasq
        t = now_ms()
        dnsmasq = start_dnsmasq()
        return t

    fault_cycle(director, f"{RS}:54", stop_dnsmasq, restart_dnsmasq, "dnsmasq stopped")


# ---- SMTP_CHECK -------------------------------------------------------------------------------
AIOSMTPD_SERVER = COMMON + r'''
import asyncio
from aiosmtpd.controller import Controller
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class Recorder:
    async def handle_HELO(self, server, session, envelope, hostname):
        record(out, command="HELO", arg=hostname)
        session.host_name = hostname
        return "250 fixture.example.test"
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        record(out, command="EHLO", arg=hostname)
        return responses
    async def handle_MAIL(self, server, session, envelope, address, options):
        record(out, command="MAIL", arg=address)
        return "250 OK"
    async def handle_QUIT(self, server, session, envelope):
        record(out, command="QUIT", arg="")
        return "221 Bye"
controller = Controller(Recorder(), hostname=host, port=port)
controller.start()
print("listening", flush=True)
asyncio.new_event_loop().run_until_complete(asyncio.sleep(3600))
'''

RAW_SMTP_SERVER = COMMON + r'''
import socketserver
host, port, out, mode_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.request.settimeout(3)
        got = b""
        now = mode(mode_file)
        try:
            if now == "broken":
                self.wfile.write(b"554 fixture: no service\r\n")
            else:
                self.wfile.write(b"220 fixture ESMTP\r\n")
                line = self.rfile.readline()
                got += line
                self.wfile.write(b"250 fixture\r\n")
                line = self.rfile.readline()
                got += line
                self.wfile.write(b"221 fixture closing\r\n")
            got += self.rfile.read()
        except OSError:
            pass
        record(out, data=got.decode("latin-1"), mode=now)
socketserver.ThreadingTCPServer.allow_reuse_address = True
server = socketserver.ThreadingTCPServer((host, port), Handler)
server.daemon_threads = True
print("listening", flush=True)
server.serve_forever()
'''


def scenario_smtp(lab: vlab.Lab) -> None:
    seen_aio = lab.work / "aiosmtpd.jsonl"
    seen_raw = lab.work / "smtp_raw.jsonl"
    mode_file = lab.work / "smtp.mode"
    spawn_python(lab, "aiosmtpd_server", AIOSMTPD_SERVER, RS, "2525", str(seen_aio))
    spawn_python(lab, "raw_smtp_server", RAW_SMTP_SERVER, RS, "2526", str(seen_raw),
                 str(mode_file))
    checker = ("SMTP_CHECK\n  helo_name lb.example.test\n  connect_timeout 1\n"
               "  delay_before_retry 0.5\n  retry 0")
    director = Director(lab, config(virtual_server(25, real_server(2525, checker) +
                                                   real_server(2526, checker))))
    director.wait_op(f"{RS}:2525", "NEW_DEST", 0, "aiosmtpd's real server added")
    fault_cycle(director, f"{RS}:2526", lambda: set_mode(mode_file, "broken"),
                lambda: set_mode(mode_file, "ok"), "a 554 greeting")
    director.expect_service_first(f"TCP {VIP}:25")
    # aiosmtpd: HELO with helo_name, then QUIT, nothing else, in every session.
    commands = [(r["command"], r["arg"]) for r in records(seen_aio)]
    check(commands and commands[:2] == [("HELO", "lb.example.test"), ("QUIT", "")],
          f"aiosmtpd saw {commands}")
    check(all(c == ("HELO", "lb.example.test") for c in commands[0::2]) and
          all(c == ("QUIT", "") for c in commands[1::2]), f"aiosmtpd saw {commands}")
    # The raw server: exactly keepalived's bytes in each complete dialogue.
    raw = [r for r in records(seen_raw) if r["mode"] == "ok"]
    check(raw, "the raw SMTP server saw no dialogue")
    for r in raw:
        check(r["data"] == "HELO lb.example.test\r\nQUIT\r\n", f"SMTP bytes {r['data']!r}")
    broken = [r for r in records(seen_raw) if r["mode"] == "broken"]
    check(broken and all("HELO" not in r["data"] for r in broken),
          f"after a 554 greeting vigil sent {broken}")
    print(f"  aiosmtpd: {len(commands) // 2} HELO lb.example.test / QUIT dialogues; raw bytes "
          "'HELO lb.example.test\\r\\nQUIT\\r\\n'; no HELO after a 554 greeting")


# ---- UDP_CHECK --------------------------------------------------------------------------------
UDP_SERVER = COMMON + r'''
import socketserver
host, port, out, mode_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
REPLY = b"PONG" + bytes(range(44))  # 48 bytes
class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        record(out, port=self.server.server_address[1], data=data.hex())
        reply = REPLY[:10] if mode(mode_file) == "broken" else REPLY
        sock.sendto(reply, self.client_address)
for p in (port, port + 1):
    server = socketserver.ThreadingUDPServer((host, p), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
print("listening", flush=True)
threading.Event().wait()
'''


def scenario_udp(lab: vlab.Lab) -> None:
    seen = lab.work / "udp.jsonl"
    mode_file = lab.work / "udp.mode"
    spawn_python(lab, "udp_server", UDP_SERVER, RS, "5400", str(seen), str(mode_file))
    payload = "e3 00 06 ec 00000000 0102 fe"
    checked = ("UDP_CHECK\n  payload " + payload + "\n  require_reply 50 4f 4e 47\n"
               "  min_reply_length 48\n  max_reply_length 64\n  connect_timeout 1\n"
               "  delay_before_retry 0.5\n  retry 0")
    plain = "UDP_CHECK\n  connect_timeout 1\n  delay_before_retry 0.5\n  retry 0"
    director = Director(lab, config(virtual_server(123, real_server(5400, checked) +
                                                   real_server(5401, plain), "UDP")))
    fault_cycle(director, f"{RS}:5400", lambda: set_mode(mode_file, "broken"),
                lambda: set_mode(mode_file, "ok"), "a 10-byte reply under min_reply_length 48")
    # The plain checker asks nothing of the reply: it stays.
    director.expect_sequence(f"{RS}:5401", ["NEW_DEST"], [0])
    director.expect_service_first(f"UDP {VIP}:123")
    got = records(seen)
    for port in (5400, 5401):
        expect_answered_first(director, f"{RS}:{port}", [r for r in got if r["port"] == port])
    want = {5400: "e30006ec000000000102fe", 5401: b"keepalived check - keepalived ch".hex()}
    for port, data in want.items():
        mine = [r["data"] for r in got if r["port"] == port]
        check(mine and set(mine) == {data}, f"port {port}: payloads {set(mine)}, expected {data}")
    print("  payload bytes as configured, keepalived's 32-byte default without one; a short "
          "reply removes, a 48-byte PONG reply adds")


# ---- PING_CHECK -------------------------------------------------------------------------------
ICMP_SNIFFER = COMMON + r'''
import socket, struct
out = sys.argv[1]
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
print("listening", flush=True)
while True:
    packet, peer = sock.recvfrom(65535)
    ihl = (packet[0] & 0x0f) * 4
    icmp = packet[ihl:]
    if icmp[0] == 8:
        total = sum(struct.unpack("!%dH" % (len(icmp) // 2), icmp[:len(icmp) // 2 * 2]))
        if len(icmp) % 2:
            total += icmp[-1] << 8
        while total >> 16:
            total = (total & 0xffff) + (total >> 16)
        record(out, peer=peer[0], type=icmp[0], code=icmp[1], checksum_ok=total == 0xffff,
               sequence=struct.unpack("!H", icmp[6:8])[0], payload=icmp[8:].hex())
'''


def scenario_ping(lab: vlab.Lab) -> None:
    seen = lab.work / "icmp.jsonl"
    spawn_python(lab, "icmp_sniffer", ICMP_SNIFFER, str(seen))
    checker = "PING_CHECK\n  connect_timeout 1\n  delay_before_retry 0.5\n  retry 0"
    director = Director(lab, config(virtual_server(80, real_server(80, checker))))

    def ignore(on: bool) -> float:
        t = now_ms()
        lab.sysctl("c", "net.ipv4.icmp_echo_ignore_all", "1" if on else "0")
        return t

    fault_cycle(director, f"{RS}:80", lambda: ignore(True), lambda: ignore(False),
                "icmp_echo_ignore_all=1")
    director.expect_service_first(f"TCP {VIP}:80")
    requests = records(seen)
    check(requests, "no echo request reached the real server")
    check(all(r["peer"] == vlab.ADDR4["d1"] and r["code"] == 0 and r["checksum_ok"]
              for r in requests), f"echo requests {requests}")
    # The payload: keepalived's length (ICMP_BUFSIZE, 128 bytes), 8 random bytes that tell this
    # probe's reply from a late one to an earlier probe, then bytes 8..127 (ping_probe.cc;
    # keepalived sends "keepalived check - " repeated, which no reply check looks at).
    payloads = [bytes.fromhex(r["payload"]) for r in requests]
    check(all(len(p) == 128 and p[8:] == bytes(range(8, 128)) for p in payloads),
          f"echo payloads {[p.hex() for p in payloads]}")
    check(len({p[:8] for p in payloads}) == len(payloads),
          f"a random token repeated: {[p[:8].hex() for p in payloads]}")
    sequences = [r["sequence"] for r in requests]
    check(len(set(sequences)) == len(sequences), f"a sequence number repeated: {sequences}")
    print(f"  {len(requests)} echo requests from the director, checksums valid, 128-byte payloads "
          "(8-byte random token, then bytes 8..127), distinct sequence numbers")


# ---- MISC_CHECK / FILE_CHECK ------------------------------------------------------------------
def scenario_misc(lab: vlab.Lab) -> None:
    value = lab.work / "misc.value"
    calls = lab.work / "misc.calls"
    script = lab.work / "misc.sh"
    script.write_text(f"#!/bin/sh\necho \"$#:$*\" >> {calls}\nexit $(cat {value})\n")
    script.chmod(0o755)
    set_mode(value, "0")
    checker = (f"MISC_CHECK\n  misc_path \"{script} {RS} 8080 x\"\n  misc_timeout 2\n"
               "  misc_dynamic")
    director = Director(lab, config(virtual_server(80, real_server(8080, checker, weight=10))))
    dest = f"{RS}:8080"
    first = director.wait_op(dest, "NEW_DEST", 0, "exit 0 adds")
    check(first["weight"] == 10, f"{first}")
    t_weight = set_mode(value, "5")  # misc_dynamic: weight 5 - 2 = 3
    edit = director.wait_op(dest, "SET_DEST", t_weight, "exit 5: weight 3")
    check(edit["weight"] == 3, f"{edit}")
    t_fail = set_mode(value, "1")
    director.wait_op(dest, "DEL_DEST", t_fail, "exit 1 removes")
    t_back = set_mode(value, "9")  # up again with weight 7
    director.wait_op(dest, "NEW_DEST", t_back, "exit 9 adds")
    wait_until(lambda: director.table().get(dest, {}).get("weight") == 7, TIMEOUT,
               "weight 7 in the table")
    kinds = [e["op"] for e in director.dest_ops(dest)]
    check(kinds[:3] == ["NEW_DEST", "SET_DEST", "DEL_DEST"] and kinds[3] == "NEW_DEST" and
          set(kinds[4:]) <= {"SET_DEST"}, f"operations {kinds}")
    lines = calls.read_text().splitlines()
    check(lines and set(lines) == {f"3:{RS} 8080 x"}, f"the script's arguments: {set(lines)}")
    print(f"  exit 0 -> NEW_DEST weight 10, 5 -> SET_DEST weight 3, 1 -> DEL_DEST, 9 -> "
          f"weight 7 ({kinds}); argv exactly '{RS} 8080 x'")


def scenario_file(lab: vlab.Lab) -> None:
    gate, scale = lab.work / "gate", lab.work / "scale"
    set_mode(gate, "0")
    set_mode(scale, "0")
    tracks = (f"track_file gate {{\n  file {gate}\n  weight 0\n}}\n"
              f"track_file scale {{\n  file {scale}\n  weight 2\n}}\n")
    rss = (real_server(8080, "FILE_CHECK\n  track_file gate\n  weight 0", weight=5) +
           real_server(8081, "FILE_CHECK\n  track_file scale", weight=5))
    director = Director(lab, config(tracks + virtual_server(80, rss)))
    fault_cycle(director, f"{RS}:8080", lambda: set_mode(gate, "1"), lambda: set_mode(gate, "0"),
                "a weight 0 FILE_CHECK and a non-zero value")
    scaled = f"{RS}:8081"
    first = director.wait_op(scaled, "NEW_DEST", 0, "8081 added")
    check(first["weight"] == 5, f"{first}")
    t = set_mode(scale, "3")  # 5 + 3 x 2
    edit = director.wait_op(scaled, "SET_DEST", t, "weight 11")
    check(edit["weight"] == 11, f"{edit}")
    t2 = set_mode(scale, "-1")  # 5 - 2
    edit2 = director.wait_op(scaled, "SET_DEST", t2, "weight 3")
    check(edit2["weight"] == 3, f"{edit2}")
    director.expect_sequence(scaled, ["NEW_DEST", "SET_DEST", "SET_DEST"], [0, t, t2])
    print("  gate 1 -> DEL_DEST, 0 -> NEW_DEST; scale 3 -> weight 11, -1 -> weight 3")


SCENARIOS = {"tcp": scenario_tcp, "http": scenario_http, "ssl": scenario_ssl,
             "dns": scenario_dns, "smtp": scenario_smtp, "udp": scenario_udp,
             "ping": scenario_ping, "misc": scenario_misc, "file": scenario_file}


def main() -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--type", required=True, choices=sorted(SCENARIOS))
    args, rest = parser.parse_known_args()
    sys.argv = [sys.argv[0], *rest]

    def logs(lab: vlab.Lab) -> list[tuple[str, Path]]:
        return ([("datapath journal", lab.work / "datapath.jsonl")] +
                [(p.name, p) for p in sorted(lab.work.glob("*.log"))] +
                [(p.name, p) for p in sorted(lab.work.glob("*.jsonl"))
                 if p.name != "datapath.jsonl"])

    return vlab.run_vigild_scenario(f"checker.{args.type}", __doc__.splitlines()[0],
                                    SCENARIOS[args.type], logs)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
