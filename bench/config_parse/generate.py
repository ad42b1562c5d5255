#!/usr/bin/env python3
"""Writes the config_parse benchmark input: N virtual servers x M real servers, a TCP_CHECK each.

Default 2,300 x 16 (about 37,000 real servers), the size named in the benchmark's issue. The file
is plain keepalived syntax that keepalived 2.2.7 accepts, so both can be timed on it.
"""
import sys

def main():
    out = sys.argv[1]
    services = int(sys.argv[2]) if len(sys.argv) > 2 else 2300
    reals = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    lines = ["global_defs {", "    router_id bench", "}", ""]
    for i in range(services):
        vip = f"10.{i // 250}.{(i % 250) + 1}.1"
        lines += [f"virtual_server {vip} 80 {{", "    delay_loop 6", "    lb_algo wrr",
                  "    lb_kind NAT", "    protocol TCP", ""]
        for j in range(reals):
            rip = f"172.16.{i % 250}.{j + 10}"
            lines += [f"    real_server {rip} {8000 + i // 250} {{", "        weight 1",
                      "        TCP_CHECK {", "            connect_timeout 3",
                      "            retry 3", "            delay_before_retry 3",
                      "        }", "    }"]
        lines += ["}", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")

if __name__ == "__main__":
    main()
