#!/usr/bin/python3
"""Script security against keepalived 2.2.7, on real files.

A tree of scripts is laid out under a fresh temporary directory (secure ones; ones in a
world-writable, a sticky and a user-owned directory; user-owned and group-writable files;
symbolic links, some owned by nobody; missing and non-executable ones). Then:

1. `keepalived -t` and `vigild -t` judge a configuration per row (script, script_user,
   enable_script_security; track or notify script) and must give the same exit code
   (0 accepted, 5 a refused track script, 6 scripts without enable_script_security).
2. Rows keepalived's -t cannot judge (scripts run as another user: it stops itself, exit 143)
   and a few root rows run both daemons: each must run, or not run, the row's script alike.
   A sentinel script in the same configuration tells when the row's script had its chance.
3. vigild alone: a reload judges a script again after its directory's mode changed, and the
   log names the refusal.

Every wait is bounded; everything started here is stopped by PID; the namespace and the files
are removed at the end.

  script_security.py VIGILD
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from seclab import NOBODY, NOGROUP, Checks, delete_namespace, make_namespace, poll, run

NS = f"vigil-scsec-{os.getpid()}"
SECURITY_ROOT = "enable_script_security\n  script_user root"

check = Checks()


class Tree:
    """The scripts. Each writes its uid to marks/ARG1 (a sticky world-writable directory)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="vigil-scsec-"))
        os.chmod(self.root, 0o755)  # nobody must reach its scripts
        self.marks = self.root / "marks"
        self.marks.mkdir()
        os.chmod(self.marks, 0o1777)
        body = f'#!/bin/sh\nid -u >> "{self.marks}/$1"\nexit 0\n'

        def script(rel: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
            os.chown(path, uid, gid)
            os.chmod(path, mode)

        def directory(rel: str, mode: int, uid: int = 0) -> None:
            path = self.root / rel
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, uid, 0)
            os.chmod(path, mode)

        def link(rel: str, target: str, uid: int = 0) -> None:
            path = self.root / rel
            path.symlink_to(target)
            os.lchown(path, uid, 0)

        directory("secure", 0o755)
        script("secure/ok.sh")
        script("secure/nobody.sh", uid=NOBODY, gid=NOGROUP)
        script("secure/noexec.sh", mode=0o644)
        script("secure/grp.sh", mode=0o775)
        script("secure/grpn.sh", mode=0o775, gid=NOGROUP)
        script("secure/open.sh", mode=0o777)
        link("secure/same.sh", "ok.sh")
        link("secure/samenobody.sh", "ok.sh", uid=NOBODY)
        link("secure/tobad.sh", "../sticky/bad.sh")
        directory("sticky", 0o1777)
        script("sticky/bad.sh", mode=0o777)
        script("sticky/rootok.sh")
        link("sticky/link-nobody.sh", str(self.root / "secure/ok.sh"), uid=NOBODY)
        directory("open", 0o777)
        script("open/x.sh")
        directory("user", 0o755, uid=NOBODY)
        script("user/u.sh")
        directory("reload", 0o777)
        script("reload/chk.sh")

    def path(self, rel: str) -> str:
        return str(self.root / rel)

    def runs(self, mark: str) -> list[str]:
        try:
            return (self.marks / mark).read_text().split()
        except FileNotFoundError:
            return []

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def config(global_lines: str, script: str, mark: str, notify: str = "",
           sentinel: str = "") -> str:
    """VI_1 on eth0 tracking `chk` (SCRIPT MARK) and, when SENTINEL is given, `sentinel`."""
    sentinel_block = (f'vrrp_script sentinel {{\n  script "{sentinel} sentinel-{mark}"\n'
                      "  interval 1\n}\n") if sentinel else ""
    tracked = "    chk\n" + ("    sentinel\n" if sentinel else "")
    return f"""global_defs {{
  {global_lines}
}}
vrrp_script chk {{
  script "{script} {mark}"
  interval 1
  weight -20
}}
{sentinel_block}vrrp_instance VI_1 {{
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {{
    192.0.2.10/32
  }}
  track_script {{
{tracked}  }}
  {notify}
}}
"""


@dataclass
class TestRow:
    what: str
    global_lines: str
    script: str  # relative to the tree, or a bare name
    notify: bool = False  # the script is a notify_master script instead of a track script


def config_test(tree: Tree, vigild: str, work: Path, rows: list[TestRow]) -> None:
    for i, row in enumerate(rows):
        # "dir/name" lies in the tree; a bare name is looked up in the PATH.
        script = tree.path(row.script) if "/" in row.script else row.script
        if row.notify:
            text = config(row.global_lines, tree.path("secure/ok.sh"), f"t{i}",
                          notify=f'notify_master "{script}"')
        else:
            text = config(row.global_lines, script, f"t{i}")
        conf = work / f"t{i}.conf"
        conf.write_text(text)
        ka = run(["ip", "netns", "exec", NS, "keepalived", "-t", "-l", "-f", str(conf)], check=False)
        ours = run([vigild, "-t", "-f", str(conf)], check=False)
        check(ka.returncode == ours.returncode,
              f"-t {row.what}: keepalived {ka.returncode}, vigild {ours.returncode}")
        if ka.returncode != ours.returncode:
            print("  keepalived:", ka.stdout.strip(), ka.stderr.strip())
            print("  vigild:", ours.stderr.strip())


def start(kind: str, vigild: str, conf: Path, work: Path, tag: str) -> tuple[subprocess.Popen,
                                                                          Path]:
    pid_dir = work / f"pids-{tag}"
    pid_dir.mkdir()
    log = work / f"{tag}.log"
    common = ["-f", str(conf), "-n", "-l", "-D", "-P", "-p", str(pid_dir / "main.pid")]
    if kind == "keepalived":
        cmd = ["keepalived", *common, "-r", str(pid_dir / "vrrp.pid"), "-c",
               str(pid_dir / "checkers.pid")]
    else:
        cmd = [vigild, *common, "-i", "test"]
    with open(log, "w") as out:
        proc = subprocess.Popen(["ip", "netns", "exec", NS, *cmd], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "TMPDIR": str(work)})
    return proc, log


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # keepalived's children, anything left
    except ProcessLookupError:
        pass
    proc.wait(timeout=5)


def wait_for(predicate, seconds: float, interval: float = 0.05) -> bool:
    return poll(predicate, polls=int(seconds / interval) + 1, interval=interval)


@dataclass
class DaemonRow:
    what: str
    global_lines: str
    script: str


def daemon_rows(tree: Tree, vigild: str, work: Path, rows: list[DaemonRow]) -> None:
    """Both daemons run the configuration until the sentinel ran twice: did chk run, as whom?"""
    for i, row in enumerate(rows):
        outcome = {}
        for kind in ("keepalived", "vigild"):
            mark = f"d{i}-{kind}"
            conf = work / f"{mark}.conf"
            conf.write_text(config(row.global_lines, tree.path(row.script), mark,
                                   sentinel=tree.path("secure/ok.sh")))
            proc, log = start(kind, vigild, conf, work, mark)
            ran = wait_for(lambda: len(tree.runs(f"sentinel-{mark}")) >= 2, 20.0)
            stop(proc)
            if not ran:
                check(False, f"{row.what}: {kind}'s sentinel script ran twice")
                print(log.read_text(errors="replace")[-2000:])
            outcome[kind] = sorted(set(tree.runs(mark)))
        check(outcome["keepalived"] == outcome["vigild"],
              f"daemon {row.what}: chk ran as uid {outcome['keepalived'] or 'never'} under "
              f"keepalived, {outcome['vigild'] or 'never'} under vigild")


def vigild_reload(tree: Tree, vigild: str, work: Path) -> None:
    """A script refused at start runs after its directory is made safe and vigild reloads; the
    refusal is logged with the script's file:line."""
    conf = work / "reload.conf"
    conf.write_text(config(SECURITY_ROOT, tree.path("reload/chk.sh"), "reload",
                           sentinel=tree.path("secure/ok.sh")))
    proc, log = start("vigild", vigild, conf, work, "reload")
    try:
        check(wait_for(lambda: len(tree.runs("sentinel-reload")) >= 2, 20.0),
              "reload: vigild runs the sentinel")
        check(tree.runs("reload") == [], "reload: the script in a world-writable directory "
              "does not run")
        text = log.read_text(errors="replace")
        check(f"[{conf}:6:10] vrrp_script chk {tree.path('reload/chk.sh')} reload is insecure "
              f"({tree.path('reload')} is writable by others)" in text,
              "reload: vigild logs the refusal at the script's line")
        os.chmod(tree.path("reload"), 0o755)
        os.kill(proc.pid, signal.SIGHUP)
        check(wait_for(lambda: len(tree.runs("reload")) >= 1, 20.0),
              "reload: after chmod 755 and SIGHUP the script runs")
        os.chmod(tree.path("reload"), 0o777)
        os.kill(proc.pid, signal.SIGHUP)
        check(wait_for(lambda: "reload is insecure" in log.read_text(errors="replace")
                       .split("SIGHUP received")[-1], 20.0),
              "reload: after chmod 777 and SIGHUP the refusal is logged again")
        before = len(tree.runs("reload"))
        sentinel_before = len(tree.runs("sentinel-reload"))
        wait_for(lambda: len(tree.runs("sentinel-reload")) >= sentinel_before + 3, 20.0)
        check(len(tree.runs("reload")) <= before + 1,
              "reload: the refused script stops running (at most a run already under way)")
    finally:
        stop(proc)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    vigild = str(Path(sys.argv[1]).resolve())
    if os.geteuid() != 0 or not shutil.which("keepalived"):
        print("needs root and keepalived (scripts/install-deps installs it)")
        return 1
    tree = Tree()
    work = Path(tempfile.mkdtemp(prefix="vigil-scsec-work-"))
    try:
        make_namespace(NS)

        test_rows = [TestRow(f"{s} (enforced, root)", SECURITY_ROOT, s) for s in (
            "secure/ok.sh", "secure/nobody.sh", "secure/noexec.sh", "secure/grp.sh",
            "secure/grpn.sh", "secure/open.sh", "secure/same.sh", "secure/samenobody.sh",
            "secure/tobad.sh", "sticky/bad.sh", "sticky/rootok.sh", "sticky/link-nobody.sh",
            "open/x.sh", "user/u.sh", "secure/missing.sh", "ok.sh", "true")]
        test_rows += [TestRow(f"{s} (not enforced, root)", "script_user root", s) for s in (
            "secure/ok.sh", "sticky/bad.sh", "user/u.sh", "secure/missing.sh")]
        test_rows += [
            TestRow("secure/ok.sh (no script_user, not enforced)", "router_id X", "secure/ok.sh"),
            TestRow("secure/ok.sh (enforced, no script_user, no keepalived_script user)",
                    "enable_script_security", "secure/ok.sh"),
            TestRow("secure/ok.sh (unknown script_user)", "script_user vigil-no-such-user",
                    "secure/ok.sh"),
            TestRow("notify sticky/bad.sh (enforced, root)", SECURITY_ROOT, "sticky/bad.sh",
                    notify=True),
            TestRow("notify secure/missing.sh (enforced, root)", SECURITY_ROOT,
                    "secure/missing.sh", notify=True),
        ]
        config_test(tree, vigild, work, test_rows)

        nobody = "enable_script_security\n  script_user nobody"
        daemon_rows(tree, vigild, work, [
            DaemonRow("sticky/bad.sh as nobody, enforced", nobody, "sticky/bad.sh"),
            DaemonRow("open/x.sh as nobody, enforced", nobody, "open/x.sh"),
            DaemonRow("secure/nobody.sh as nobody, enforced", nobody, "secure/nobody.sh"),
            DaemonRow("secure/noexec.sh as nobody, enforced", nobody, "secure/noexec.sh"),
            DaemonRow("sticky/bad.sh as nobody, not enforced", "script_user nobody",
                      "sticky/bad.sh"),
            DaemonRow("open/x.sh as root, enforced", SECURITY_ROOT, "open/x.sh"),
            DaemonRow("open/x.sh as root, not enforced", "script_user root", "open/x.sh"),
            DaemonRow("secure/tobad.sh as root, enforced", SECURITY_ROOT, "secure/tobad.sh"),
        ])
        vigild_reload(tree, vigild, work)
    finally:
        delete_namespace(NS)
        tree.remove()
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
