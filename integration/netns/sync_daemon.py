#!/usr/bin/env python3
"""lvs_sync_daemon on the host (CTest netns.vigild.sync-daemon).

  sync_daemon.py --vigild PATH [--keep]

Two directors run vigild -P (VRRP only, as every netns scenario does) with
`lvs_sync_daemon eth0 VI_1`. The build machines' kernel has no IPVS: each vigild says so once
("... load the ip_vs module: no connection sync daemon; VRRP keeps running"), VRRP elects d1,
fails over to d2 on SIGTERM and a SIGHUP (which tries IPVS again) leaves d2 master, with that
warning still written once per daemon. On a kernel with IPVS the same run checks with ipvsadm
that the master runs the master daemon and the backup the backup one instead. The VM suite
(integration/vm/tests/vigild_sync_daemon.sh) covers synced connections with a real IPVS.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vlab  # noqa: E402
from vlab import wait_until  # noqa: E402

WARNING = "no connection sync daemon; VRRP keeps running"


def config(priority: int) -> str:
    return vlab.global_defs("  lvs_sync_daemon eth0 VI_1 id 51\n") + vlab.instance(
        priority=priority, advert_int=0.2, version=3)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def kernel_has_ipvs(lab: vlab.Lab) -> bool:
    # vigild's genl look-up would have autoloaded ip_vs by now if the kernel has it.
    return lab.exec("d1", "test", "-e", "/proc/net/ip_vs", check=False).returncode == 0


def sync_daemons(lab: vlab.Lab, node: str) -> list[str]:
    out = lab.exec(node, "ipvsadm", "-L", "--daemon", check=False).stdout
    return sorted(line.split(" sync daemon")[0] for line in out.splitlines()
                  if " sync daemon " in line)


def run(lab: vlab.Lab) -> None:
    d1 = lab.start("d1", "vigild", config(150))
    lab.wait_sole_holder("d1", timeout=5)
    d2 = lab.start("d2", "vigild", config(100))
    time.sleep(1.5)  # d2 settles as backup
    lab.check_daemons()
    check(lab.holders() == ["d1"], f"VIP holders {lab.holders()}")

    with_ipvs = kernel_has_ipvs(lab)
    print(f"  kernel with IPVS: {with_ipvs}")
    if with_ipvs:
        if not shutil.which("ipvsadm"):
            raise AssertionError("the kernel has IPVS but ipvsadm is missing to check it")
        wait_until(lambda: sync_daemons(lab, "d1") == ["master"], 5, "d1's master sync daemon")
        wait_until(lambda: sync_daemons(lab, "d2") == ["backup"], 5, "d2's backup sync daemon")
    else:
        for daemon in (d1, d2):
            text = daemon.log_text()
            check(text.count(WARNING) == 1,
                  f"{daemon.node}: expected the IPVS warning once, log:\n{text}")
            check("load the ip_vs module" in text, f"{daemon.node}: the warning names no reason")

    d1.terminate()
    lab.wait_sole_holder("d2", timeout=5)
    os.kill(d2.pid, signal.SIGHUP)
    wait_until(lambda: "configuration reloaded" in d2.log_text(), 5, "d2's reload")
    time.sleep(0.5)
    lab.check_daemons()
    check(lab.holders() == ["d2"], f"VIP holders after the reload {lab.holders()}")
    if with_ipvs:
        wait_until(lambda: sync_daemons(lab, "d2") == ["master"], 5, "d2's master sync daemon")
        check(sync_daemons(lab, "d1") == [], f"d1 still runs {sync_daemons(lab, 'd1')}")
    else:
        text = d2.log_text()
        check(text.count(WARNING) == 1, f"d2: the IPVS warning repeated, log:\n{text}")
    d2.terminate()
    lab.check_daemons()


def main() -> int:
    return vlab.run_vigild_scenario("sync-daemon", __doc__.splitlines()[0], run)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
