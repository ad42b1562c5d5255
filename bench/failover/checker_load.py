#!/usr/bin/env python3
"""Health-checker load for the failover benchmark: what a busy checker side does to a director.

vigil has no health checkers yet and this host has no IPVS (keepalived -C exits without it), so
the benchmark emulates keepalived's TCP_CHECK work the same way next to either VRRP daemon:

  checker_load.py check --host IP --ports 20000-20999 [--delay 1] [--timeout 1] --duration S
      in a director's namespace: every --delay seconds each port gets one TCP_CHECK (a
      non-blocking connect, wait for the handshake, close), spread evenly over the delay so
      N ports cost N connections per second, as keepalived spreads its checkers;
  checker_load.py listen --host IP --ports 20000-20999 --duration S
      in the real servers' namespace: one listening socket per port, accept and close; prints
      "listening" once every port is bound.

Both run at normal priority (SCHED_OTHER, nice 0) and stop after --duration seconds.
"""

from __future__ import annotations

import argparse
import errno
import heapq
import resource
import selectors
import socket
import sys
import time


def port_range(text: str) -> range:
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def listen(host: str, ports: range, duration: float) -> int:
    selector = selectors.DefaultSelector()
    for port in ports:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)
        server.setblocking(False)
        selector.register(server, selectors.EVENT_READ)
    print("listening", flush=True)  # every port bound: the checks may start
    accepted = 0
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.2):
            for _ in range(64):  # bounded per wake-up
                try:
                    conn, _ = key.fileobj.accept()
                except BlockingIOError:
                    break
                conn.close()
                accepted += 1
    print(f"accepted {accepted}", flush=True)
    return 0


def check(host: str, ports: range, delay: float, timeout: float, duration: float) -> int:
    selector = selectors.DefaultSelector()
    start = time.monotonic()
    deadline = start + duration
    # (due time, port): each port's check is offset by its share of the delay.
    due = [(start + delay * i / len(ports), port) for i, port in enumerate(ports)]
    heapq.heapify(due)
    in_flight: dict[socket.socket, tuple[int, float]] = {}
    done = failed = 0
    while time.monotonic() < deadline:
        now = time.monotonic()
        while due and due[0][0] <= now:
            when, port = heapq.heappop(due)
            heapq.heappush(due, (when + delay, port))
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex((host, port))
            if code not in (0, errno.EINPROGRESS):
                failed += 1
                sock.close()
                continue
            in_flight[sock] = (port, now + timeout)
            selector.register(sock, selectors.EVENT_WRITE)
        wait = max(0.0, min(due[0][0] - time.monotonic(), 0.2)) if due else 0.2
        for key, _ in selector.select(timeout=wait):
            sock = key.fileobj
            selector.unregister(sock)
            in_flight.pop(sock, None)
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done += 1
            else:
                failed += 1
            sock.close()
        now = time.monotonic()
        for sock, (_, expires) in list(in_flight.items()):
            if expires <= now:
                selector.unregister(sock)
                del in_flight[sock]
                sock.close()
                failed += 1
    print(f"checks ok {done} failed {failed}", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("check", "listen"))
    parser.add_argument("--host", required=True)
    parser.add_argument("--ports", default="20000-20999")
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--duration", type=float, required=True)
    args = parser.parse_args()
    ports = port_range(args.ports)
    # One descriptor per port (listener) or per check in flight, plus slack.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 2 * len(ports) + 64))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if not 1 <= len(ports) <= 20000 or not 0 < args.duration <= 7200:
        parser.error("--ports: 1-20000 ports; --duration: up to 7200 s")
    if args.mode == "listen":
        return listen(args.host, ports, args.duration)
    return check(args.host, ports, args.delay, args.timeout, args.duration)


if __name__ == "__main__":
    sys.exit(main())
