#!/usr/bin/env python3
"""Writes the config_parse benchmark input: N virtual servers x M real servers, a TCP_CHECK each.

Default 2,300 x 16 (about 37,000 real servers), the size named in the benchmark's issue. The file
is plain keepalived syntax that keepalived 2.2.7 accepts, so both can be timed on it.

  generate.py OUT [SERVICES] [REALS] [--no-checkers]

--no-checkers leaves the real servers without a checker (bench/ipvs_program: both daemons then
program every real server at once).
"""
import sys

def main():
    args = [a for a in sys.argv[1:] if a != "--no-checkers"]
    checkers = len(args) == len(sys.argv) - 1
    out = args[0]
    services = int(args[1]) if len(args) > 1 else 2300
    reals = int(args[2]) if len(args) > 2 else 16
    lines = ["global_defs {", "    router_id bench", "}", ""]
    for i in range(services):
        vip = f"10.{i // 250}.{(i % 250) + 1}.1"
        lines += [f"virtual_server {vip} 80 {{", "    delay_loop 6", "    lb_algo wrr",
                  "    lb_kind NAT", "    protocol TCP", ""]
        for j in range(reals):
            rip = f"172.16.{i % 250}.{j + 10}"
            lines += [f"    real_server {rip} {8000 + i // 250} {{", "        weight 1"]
            if checkers:
                lines += ["        TCP_CHECK {", "            connect_timeout 3",
                          "            retry 3", "            delay_before_retry 3", "        }"]
            lines += ["    }"]
        lines += ["}", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")

if __name__ == "__main__":
    main()
