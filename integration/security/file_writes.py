#!/usr/bin/python3
"""Files vigild writes as root, in a directory every local user can write to (issue 11).

A sticky world-writable directory is made under /tmp (as /tmp itself is), and every file vigild
writes is pointed into it: the SIGUSR1 / SIGUSR2 dumps through TMPDIR, the pid file through -p,
the IPVS ownership state through --ipvs-state-file, a track_file with `init_file 5 overwrite`,
and the two notify FIFOs (vrrp_notify_fifo, notify_fifo). vigild runs the real binary in a
network namespace made here (-s, so the dump names carry `_INSTANCE_NAMESPACE`).

  file_writes.py VIGILD links-nobody   every path is a symbolic link owned by nobody
  file_writes.py VIGILD links-root     ... owned by root: means something where
                                       fs.protected_symlinks=1 stops root following nobody's
                                       links in a sticky directory (a host setting: never
                                       changed here)
  file_writes.py VIGILD files-nobody   every path is a regular file nobody made, mode 0666,
                                       held open by nobody (CVE-2018-19046); the FIFOs are
                                       absent, so vigild makes them
  file_writes.py VIGILD not-fifo       the FIFO paths are a regular file and a directory
  file_writes.py VIGILD bad-instance   `instance ../x`: a name that would lead default paths
                                       elsewhere stops vigild at start (exit 5, a config error)

Each link aims at a canary file of its own (notify_fifo's at a canary FIFO, held open for
reading). vigild starts (pid file, FIFOs, init_file) and gets SIGUSR1 and SIGUSR2 (dumps).
Then every canary must have its bytes, mode and owner; the FIFO links must be refused with a
log line naming them; every other link must be replaced by a new root-owned regular file (0600
for the dumps, 0644 for the pid file and init_file) with a warning. The ownership state is
written only once vigild programs IPVS services, which needs a kernel with IPVS: here its link
must merely stay untouched (the unit tests in tests/lvs/ownership_store_test.cc and the
VM suite's vigild_state_file_link.sh, on a kernel with IPVS, cover the write). In the files-nobody case the dumps and the pid file must be new root-owned files (the
planted ones, still open, never see a byte of them), init_file a new file that keeps the planted
one's owner and mode (track_file's rule), and the FIFOs vigild makes root's, 0600. In the
not-fifo case both FIFOs are refused and logged, and vigild keeps running. vigild runs with an
empty umask throughout: every mode it sets must be exact, never widened (CVE-2018-19045).

Every wait is bounded (a number of polls); vigild is stopped by its PID; the namespace and the
directories are removed at the end.
"""

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from seclab import NOBODY, NOGROUP, Checks, delete_namespace, make_namespace, poll

INSTANCE = "sec"

check = Checks()


def config(work: Path) -> str:
    return f"""global_defs {{
  router_id security
  vrrp_notify_fifo {work}/vrrp.fifo
  notify_fifo {work}/notify.fifo
}}
instance {INSTANCE}
track_file tf {{
  file {work}/track
  init_file 5 overwrite
}}
vrrp_instance VI_1 {{
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {{
    192.0.2.10/32
  }}
  track_file {{
    tf
  }}
}}
"""


class Canaries:
    """Root-owned files (and a FIFO) in a directory only root can write: what a planted link
    aims at. Their bytes, mode, owner and inode are taken before vigild starts."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="vigil-files-canary-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        self.before: dict[Path, tuple[bytes, int, int, int]] = {}
        self.fifo = self.root / "fifo"
        os.mkfifo(self.fifo, 0o600)
        # Held open for reading: a line vigild wrote through a link would wait here.
        self.fifo_reader = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)

    def file(self, name: str) -> Path:
        path = self.root / name
        path.write_bytes(f"canary {name}: root's, never to be written by vigild\n".encode())
        os.chmod(path, 0o640)
        st = os.lstat(path)
        self.before[path] = (path.read_bytes(), st.st_mode, st.st_uid, st.st_ino)
        return path

    def check_untouched(self) -> None:
        for path, (data, mode, uid, ino) in self.before.items():
            st = os.lstat(path)
            check(path.read_bytes() == data and (st.st_mode, st.st_uid, st.st_ino) == (mode, uid,
                                                                                       ino),
                  f"canary {path.name}: bytes, mode, owner and inode unchanged")
        try:
            leaked = os.read(self.fifo_reader, 4096)
        except BlockingIOError:
            leaked = b""
        check(leaked == b"", f"canary FIFO: no line written through the link ({leaked!r})")

    def remove(self) -> None:
        os.close(self.fifo_reader)
        shutil.rmtree(self.root, ignore_errors=True)


class Vigild:
    def __init__(self, binary: str, work: Path, ns: str) -> None:
        self.work = work
        self.ns = ns
        self.conf = work.parent / f"{work.name}.conf"  # outside the world-writable directory
        self.conf.write_text(config(work))
        self.log = work.parent / f"{work.name}.log"
        self.pid_file = work / "vigild.pid"
        self.state_file = work / "ipvs-owned.conf"
        self.data = work / f"vigil_{INSTANCE}_{ns}.data"
        self.stats = work / f"vigil_{INSTANCE}_{ns}.stats"
        self.track = work / "track"
        self.vrrp_fifo = work / "vrrp.fifo"
        self.notify_fifo = work / "notify.fifo"
        self.binary = binary
        self.proc: subprocess.Popen | None = None

    def start(self, expect_running: bool = True) -> None:
        cmd = [self.binary, "-f", str(self.conf), "-n", "-l", "-D", "-s", self.ns, "-p",
               str(self.pid_file), "--ipvs-state-file", str(self.state_file)]
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True, umask=0,
                                         env={**os.environ, "TMPDIR": str(self.work)})
        if expect_running:
            check(poll(lambda: "running with" in self.text() or self.proc.poll() is not None)
                  and self.proc.poll() is None, "vigild started")

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
            return None
        finally:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # anything it started
            except ProcessLookupError:
                pass


def plant(link: Path, target: Path, uid: int) -> None:
    link.symlink_to(target)
    os.lchown(link, uid, NOGROUP if uid else 0)


def is_new_root_file(path: Path, mode: int) -> bool:
    st = os.lstat(path)
    return stat.S_ISREG(st.st_mode) and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == mode


def replaced_line(path: Path) -> str:
    return f"{path} was a symbolic link: replaced with a new file (its target is untouched)"


def dump(vigild: Vigild, sig: int, path: Path, marker: str) -> bool:
    os.kill(vigild.proc.pid, sig)
    return poll(lambda: path.is_file() and not path.is_symlink() and marker in path.read_text())


def links_case(vigild: Vigild, canaries: Canaries, uid: int) -> None:
    owner = "nobody" if uid else "root"
    links = {
        vigild.pid_file: canaries.file("pid"),
        vigild.data: canaries.file("data"),
        vigild.stats: canaries.file("stats"),
        vigild.state_file: canaries.file("ipvs-owned"),
        vigild.track: canaries.file("track"),
        vigild.vrrp_fifo: canaries.file("vrrp-fifo"),
        vigild.notify_fifo: canaries.fifo,
    }
    for link, target in links.items():
        plant(link, target, uid)
    vigild.start()
    check(vigild.alive(), f"vigild runs with {owner}'s links at every path")

    # Start: the pid file and init_file are new files in place of the links.
    check(is_new_root_file(vigild.pid_file, 0o644), "pid file: a new root-owned 0644 file")
    check(vigild.pid_file.read_text() == f"{vigild.proc.pid}\n", "pid file: holds vigild's pid")
    check(replaced_line(vigild.pid_file) in vigild.text(), "pid file: the replaced link is logged")
    check(poll(lambda: not vigild.track.is_symlink()) and is_new_root_file(vigild.track, 0o644),
          "track_file init_file: a new root-owned 0644 file")
    check(vigild.track.read_text() == "5\n", "track_file init_file: holds the init value")
    check(poll(lambda: replaced_line(vigild.track) in vigild.text()),
          "track_file init_file: the replaced link is logged")
    # The FIFOs: refused, the links left as they are.
    for fifo in (vigild.vrrp_fifo, vigild.notify_fifo):
        refusal = (f"notify FIFO: {fifo} is a symbolic link, not a FIFO: refused: no lines are "
                   "written to it")
        check(poll(lambda: refusal in vigild.text()), f"{fifo.name}: the refusal is logged")
        check(fifo.is_symlink(), f"{fifo.name}: the link is left alone")

    # SIGUSR1 / SIGUSR2: the dumps are new 0600 files.
    check(dump(vigild, signal.SIGUSR1, vigild.data, "VRRP Topology"),
          f"SIGUSR1: {vigild.data.name} written in place of the link")
    check(is_new_root_file(vigild.data, 0o600), "data dump: a new root-owned 0600 file")
    check(poll(lambda: replaced_line(vigild.data) in vigild.text()),
          "data dump: the replaced link is logged")
    check(dump(vigild, signal.SIGUSR2, vigild.stats, "VRRP Instance: VI_1"),
          f"SIGUSR2: {vigild.stats.name} written in place of the link")
    check(is_new_root_file(vigild.stats, 0o600), "stats dump: a new root-owned 0600 file")
    check(poll(lambda: replaced_line(vigild.stats) in vigild.text()),
          "stats dump: the replaced link is logged")
    # A second dump replaces vigild's own file.
    check(dump(vigild, signal.SIGUSR1, vigild.data, "VRRP Topology") and
          is_new_root_file(vigild.data, 0o600), "SIGUSR1 again: still a root-owned 0600 file")

    # No IPVS services: the ownership state is not written; its link stays.
    check(vigild.state_file.is_symlink(), "ipvs state file: not written without IPVS services")
    check(vigild.alive(), "vigild still runs")
    code = vigild.stop()
    check(code == 0, f"vigild stops cleanly on SIGTERM (exit {code})")
    check(not vigild.pid_file.exists() and not vigild.pid_file.is_symlink(),
          "pid file: removed at stop")
    check(vigild.vrrp_fifo.is_symlink() and vigild.notify_fifo.is_symlink(),
          "the FIFO links are still there after the stop (not vigild's to remove)")
    canaries.check_untouched()
    leftovers = sorted(p.name for p in vigild.work.iterdir() if ".tmp-" in p.name)
    check(leftovers == [], f"no temporary file left in the directory ({leftovers})")


def files_case(vigild: Vigild) -> None:
    planted = {}
    for path in (vigild.pid_file, vigild.data, vigild.stats, vigild.track):
        path.write_text("0\n" if path == vigild.track else f"nobody's {path.name}\n")
        os.chown(path, NOBODY, NOGROUP)
        os.chmod(path, 0o666)
        planted[path] = (os.open(path, os.O_RDONLY), path.read_text())
    try:
        vigild.start()
        check(vigild.alive(), "vigild runs with nobody's files at every path")
        check(is_new_root_file(vigild.pid_file, 0o644) and
              vigild.pid_file.read_text() == f"{vigild.proc.pid}\n",
              "pid file: a new root-owned 0644 file with vigild's pid")
        check(poll(lambda: vigild.track.read_text() == "5\n"), "track_file init_file: written")
        st = os.lstat(vigild.track)
        check((st.st_uid, stat.S_IMODE(st.st_mode)) == (NOBODY, 0o666),
              "track_file init_file: the new file keeps the planted one's owner and mode")
        for fifo in (vigild.vrrp_fifo, vigild.notify_fifo):
            check(poll(lambda: fifo.exists()), f"{fifo.name}: made")
            st = os.lstat(fifo)
            check(stat.S_ISFIFO(st.st_mode) and st.st_uid == 0 and
                  stat.S_IMODE(st.st_mode) == 0o600, f"{fifo.name}: a root-owned 0600 FIFO")
        check(dump(vigild, signal.SIGUSR1, vigild.data, "VRRP Topology"),
              "SIGUSR1: the data dump written")
        check(is_new_root_file(vigild.data, 0o600), "data dump: a new root-owned 0600 file")
        check(dump(vigild, signal.SIGUSR2, vigild.stats, "VRRP Instance: VI_1"),
              "SIGUSR2: the stats dump written")
        check(is_new_root_file(vigild.stats, 0o600), "stats dump: a new root-owned 0600 file")
        for path, (fd, text) in planted.items():
            check(os.pread(fd, 4096, 0).decode() == text,
                  f"{path.name}: the planted file nobody holds open kept its bytes")
        check(not vigild.state_file.exists(),
              "ipvs state file: not written without IPVS services")
        check(vigild.alive(), "vigild still runs")
        code = vigild.stop()
        check(code == 0, f"vigild stops cleanly on SIGTERM (exit {code})")
        check(not vigild.vrrp_fifo.exists() and not vigild.notify_fifo.exists(),
              "the FIFOs vigild made are removed at stop")
    finally:
        for fd, _ in planted.values():
            os.close(fd)


def not_fifo_case(vigild: Vigild) -> None:
    vigild.vrrp_fifo.write_text("a regular file, kept\n")
    vigild.notify_fifo.mkdir()
    (vigild.notify_fifo / "inside").write_text("kept\n")
    vigild.start()
    for fifo, what in ((vigild.vrrp_fifo, "a regular file"), (vigild.notify_fifo,
                                                              "a directory")):
        refusal = (f"notify FIFO: {fifo} is {what}, not a FIFO: refused: no lines are written "
                   "to it")
        check(poll(lambda: refusal in vigild.text()), f"{fifo.name} ({what}): the refusal is "
              "logged")
    check(vigild.vrrp_fifo.read_text() == "a regular file, kept\n",
          "the regular file keeps its bytes")
    check((vigild.notify_fifo / "inside").read_text() == "kept\n",
          "the directory keeps its contents")
    check(dump(vigild, signal.SIGUSR1, vigild.data, "VI_1"),
          "vigild keeps running: SIGUSR1 writes the data dump")
    check(is_new_root_file(vigild.data, 0o600), "data dump: a new root-owned 0600 file")
    check(vigild.alive(), "vigild still runs")
    code = vigild.stop()
    check(code == 0, f"vigild stops cleanly on SIGTERM (exit {code})")
    check(vigild.vrrp_fifo.read_text() == "a regular file, kept\n" and
          (vigild.notify_fifo / "inside").read_text() == "kept\n",
          "after the stop: the file and the directory are as they were")


def bad_instance_case(vigild: Vigild) -> None:
    vigild.conf.write_text(config(vigild.work).replace(f"instance {INSTANCE}\n",
                                                       "instance ../x\n"))
    vigild.start(expect_running=False)
    check(poll(lambda: vigild.proc.poll() is not None), "vigild exits")
    # A configuration error (docs/operations.md "Exit codes"): systemd does not restart on it.
    check(vigild.proc.returncode == 5, f"... with 5 (got {vigild.proc.returncode})")
    check("instance '../x': a name in file names cannot hold '/'; not starting" in vigild.text(),
          "the refusal names the instance")
    check(sorted(p.name for p in vigild.work.iterdir()) == [], "no file was written")


def main() -> int:
    cases = ("links-nobody", "links-root", "files-nobody", "not-fifo", "bad-instance")
    if len(sys.argv) != 3 or sys.argv[2] not in cases:
        print(__doc__)
        return 2
    binary = str(Path(sys.argv[1]).resolve())
    case = sys.argv[2]
    if os.geteuid() != 0:
        print("needs root (CI runs the suite as root)")
        return 1
    print("fs.protected_symlinks =",
          Path("/proc/sys/fs/protected_symlinks").read_text().strip(), "(left as it is)")
    ns = f"vigil-files-{os.getpid()}"
    base = Path(tempfile.mkdtemp(prefix="vigil-files-", dir="/tmp"))  # root's, 0700
    work = base / "shared"
    work.mkdir()
    os.chmod(work, 0o1777)  # sticky and world-writable, as /tmp
    canaries = Canaries()
    vigild = Vigild(binary, work, ns)
    try:
        make_namespace(ns)
        if case == "not-fifo":
            not_fifo_case(vigild)
        elif case == "files-nobody":
            files_case(vigild)
        elif case == "bad-instance":
            bad_instance_case(vigild)
        else:
            links_case(vigild, canaries, NOBODY if case == "links-nobody" else 0)
    finally:
        vigild.stop()
        if check.failures:
            print("---- vigild's log ----")
            print(vigild.text()[-6000:] if vigild.log.exists() else "(none)")
        delete_namespace(ns)
        canaries.remove()
        shutil.rmtree(base, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
