#!/usr/bin/env python3
"""Sends crafted VRRP adverts (valid or deliberately malformed) from inside a lab namespace.

  craft_advert.py --src IP --vrid N --priority P --vip IP [--vip IP ...] --kind KIND
                  [--version 2|3] [--auth-pass PW] [--advert-int S] [--count N] [--every S]
                  [--dst IP] [--ttl N]

KIND is one of:
  valid         a well-formed advert (the positive control: it must move the state)
  bad-ttl       IP TTL 64 instead of 255 (RFC 5798 §7.1)
  bad-checksum  VRRP checksum off by one
  wrong-vrid    a virtual router id nobody is configured with
  truncated     cut in the middle of the address list
  wrong-auth    VRRPv2 simple password that does not match (RFC 2338 §5.3.6)
  bad-version   version field 1
  bad-interval  VRRPv2 advert interval different from the receiver's (RFC 3768 §7.1)
  count-mismatch  address count says one more address than the packet carries

It writes raw IPv4 packets (IP_HDRINCL) to 224.0.0.18 (or --dst, for unicast VRRP), so it must
run as root inside the lab's client namespace, which routes 224.0.0.0/4 out of its only
interface. --ttl sets the IP TTL of any kind (bad-ttl: 64). Bounded: at most --count
packets, one every --every seconds.
"""

import argparse
import socket
import struct
import sys
import time

KINDS = ("valid", "bad-ttl", "bad-checksum", "wrong-vrid", "truncated", "wrong-auth",
         "bad-version", "bad-interval", "count-mismatch")
VRRP_GROUP = "224.0.0.18"
IPPROTO_VRRP = 112


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def vrrp_message(args, kind: str) -> bytes:
    version = 1 if kind == "bad-version" else args.version
    vrid = (args.vrid % 255) + 1 if kind == "wrong-vrid" else args.vrid
    addresses = b"".join(socket.inet_aton(v) for v in args.vip)
    count = len(args.vip) + (1 if kind == "count-mismatch" else 0)
    if args.version == 2:
        interval = int(args.advert_int) + (1 if kind == "bad-interval" else 0)
        auth_type = 1 if args.auth_pass is not None else 0
        password = args.auth_pass or ""
        if kind == "wrong-auth":
            password = (password or "x") + "-wrong"
        auth = password.encode()[:8].ljust(8, b"\0")
        header = struct.pack("!BBBBBBH", (version << 4) | 1, vrid, args.priority, count,
                             auth_type, interval, 0)
        body = header + addresses + auth
        csum = checksum(body)
    else:
        centiseconds = int(round(args.advert_int * 100)) & 0x0FFF
        header = struct.pack("!BBBBHH", (version << 4) | 1, vrid, args.priority, count,
                             centiseconds, 0)
        body = header + addresses
        # RFC 5798 §5.2.8: the checksum covers an IPv4 pseudo-header too.
        pseudo = (socket.inet_aton(args.src) + socket.inet_aton(args.dst) +
                  struct.pack("!BBH", 0, IPPROTO_VRRP, len(body)))
        csum = checksum(pseudo + body)
    if kind == "bad-checksum":
        csum = (csum + 1) & 0xFFFF
    body = body[:6] + struct.pack("!H", csum) + body[8:]
    if kind == "truncated":
        body = body[:8 + 2]  # the fixed header and half an address
    return body


def ip_packet(args, kind: str, payload: bytes, ident: int) -> bytes:
    ttl = args.ttl if args.ttl is not None else 64 if kind == "bad-ttl" else 255
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), ident, 0, ttl,
                         IPPROTO_VRRP, 0, socket.inet_aton(args.src),
                         socket.inet_aton(args.dst))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", required=True)
    parser.add_argument("--vrid", type=int, required=True)
    parser.add_argument("--priority", type=int, default=254)
    parser.add_argument("--vip", action="append", required=True)
    parser.add_argument("--kind", choices=KINDS, default="valid")
    parser.add_argument("--version", type=int, choices=(2, 3), default=2)
    parser.add_argument("--auth-pass")
    parser.add_argument("--advert-int", type=float, default=1.0)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--every", type=float, default=0.1)
    parser.add_argument("--dst", default=VRRP_GROUP, help="destination (default %(default)s)")
    parser.add_argument("--ttl", type=int, choices=range(0, 256), metavar="0-255")
    args = parser.parse_args()
    if not 1 <= args.count <= 100000 or not 0.001 <= args.every <= 10:
        parser.error("--count 1-100000, --every 0.001-10 s")

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    payload = vrrp_message(args, args.kind)
    for i in range(args.count):
        sock.sendto(ip_packet(args, args.kind, payload, (i + 1) & 0xFFFF), (args.dst, 0))
        time.sleep(args.every)
    print(f"sent {args.count} {args.kind} adverts (vrid {args.vrid}, priority {args.priority})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
