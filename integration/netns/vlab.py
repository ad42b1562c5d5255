"""vlab: a throw-away VRRP lab in network namespaces.

Topology (every name carries a per-run prefix, so parallel runs never collide):

    <p>-d1 eth0 ─┐
    <p>-d2 eth0 ─┼─ br0 in <p>-br
    <p>-c  eth0 ─┘

Directors d1/d2 run a VRRP daemon, either Debian's keepalived or vigild: both read the same
keepalived-syntax config and take the same flags (-f FILE -n -l -D -p PIDFILE, plus -i ID), so a
scenario names the daemon kind per director and mixed pairs work for interop. The client probes
the virtual addresses. All addresses are documentation ranges inside namespaces made here.

Use it as a context manager: teardown always runs and removes only what this Lab made (its own
daemons by PID and process group, its own namespaces, its own work directory).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

DIRECTORS = ("d1", "d2")
NODES = ("d1", "d2", "c")

# Addresses inside the lab (RFC 5737 / RFC 3849 documentation ranges).
ADDR4 = {"d1": "192.0.2.11", "d2": "192.0.2.12", "c": "192.0.2.100"}
ADDR6 = {"d1": "2001:db8::11", "d2": "2001:db8::12", "c": "2001:db8::100"}
PREFIX4 = 24
PREFIX6 = 64
VIP4 = "192.0.2.200"
VIP4_B = "192.0.2.201"
VIP6 = "2001:db8::200"
VIP6_B = "2001:db8::201"
# Fixed MACs make "which director answers" a string comparison.
MAC = {"d1": "02:00:5e:00:00:d1", "d2": "02:00:5e:00:00:d2", "c": "02:00:5e:00:00:cc"}

DEFAULT_TIMEOUT = 10.0


class LabError(RuntimeError):
    pass


def run(cmd: list[str], check: bool = True, timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Runs a short command with a bound on its time; raises with its stderr when check fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


ORPHAN_NS = re.compile(r"^vl(\d+)x\d{3}-(br|d1|d2|c|empty)$")
ORPHAN_DIR = re.compile(r"^vl(\d+)x\d{3}-[A-Za-z0-9_]{8}$")


def remove_orphans() -> None:
    """Deletes namespaces a killed earlier run of this harness left behind (its owner process is
    gone; ctest's timeout kill leaves no chance to tear down), and the processes still in them.
    Only names of this harness's exact pattern whose owner pid no longer exists are touched."""
    listing = run(["ip", "netns", "list"], check=False).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        match = ORPHAN_NS.match(name)
        if not match:
            continue
        if pid_alive(int(match.group(1))):
            continue
        pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run(["ip", "netns", "del", name], check=False)
    # Their work directories (vl<pid>x<nnn>-<mkdtemp suffix> in the temp dir) go too.
    for path in Path(tempfile.gettempdir()).glob("vl*x*-*"):
        match = ORPHAN_DIR.match(path.name)
        if (match and path.is_dir() and not (path / "KEEP").exists()
                and not pid_alive(int(match.group(1)))):
            shutil.rmtree(path, ignore_errors=True)


def vigild_dump(suffix: str) -> Path:
    """Where vigild writes its SIGUSR1 / SIGUSR2 dump ("data" or "stats") when it runs without
    `instance` and -s: $TMPDIR when that is an absolute path, else /tmp (docs/security.md). The
    daemons this lab starts inherit its environment. vigild writes each dump as a new file renamed
    into place: once the name exists, the file is whole."""
    tmpdir = os.environ.get("TMPDIR", "")
    directory = (tmpdir.rstrip("/") or "/") if tmpdir.startswith("/") else "/tmp"
    return Path(directory) / f"vigil.{suffix}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_until(predicate: Callable[[], object], timeout: float, what: str,
               interval: float = 0.005) -> object:
    """Polls predicate until it returns a truthy value or timeout passes (then raises).

    Returns the truthy value. Bounded in time and, through the interval, in count."""
    deadline = time.monotonic() + timeout
    max_polls = int(timeout / interval) + 2
    for _ in range(max_polls):
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise LabError(f"timed out after {timeout:.3f} s waiting for {what}")


def holds_for(predicate: Callable[[], object], duration: float, what: str,
              interval: float = 0.02) -> None:
    """Asserts that predicate stays truthy for the whole duration (polled)."""
    deadline = time.monotonic() + duration
    for _ in range(int(duration / interval) + 2):
        if not predicate():
            raise LabError(f"{what} stopped holding")
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)


@dataclass
class DaemonKind:
    """How to start one kind of VRRP daemon with keepalived's flags. vigild runs only its VRRP
    side (-P) unless `vrrp_only` is off; `args` go before the common flags (vigild-recording's
    --record FILE: bench/failover runs its checkers)."""
    name: str
    binary: str
    args: tuple[str, ...] = ()
    vrrp_only: bool = True

    def command(self, config: Path, pid_dir: Path, config_id: str) -> list[str]:
        common = ["-f", str(config), "-n", "-l", "-D", "-p", str(pid_dir / "main.pid"),
                  "-i", config_id]
        if self.name == "keepalived":
            # keepalived forks VRRP and checker children with their own pid files; -P runs only
            # the VRRP child. Separate pid files keep two instances on one host apart.
            return [self.binary, *common, "-P", "-r", str(pid_dir / "vrrp.pid"),
                    "-c", str(pid_dir / "checkers.pid")]
        return [self.binary, *self.args, *common, *(["-P"] if self.vrrp_only else [])]


def daemon_kind(name: str, vigild: str | None = None) -> DaemonKind:
    if name == "keepalived":
        binary = shutil.which("keepalived") or "/usr/sbin/keepalived"
        return DaemonKind("keepalived", binary)
    if name == "vigild":
        if not vigild:
            raise LabError("--daemon vigild needs the path of vigild (--vigild PATH)")
        return DaemonKind("vigild", str(Path(vigild).resolve()))
    raise LabError(f"unknown daemon kind {name!r} (keepalived or vigild)")


@dataclass
class Daemon:
    lab: "Lab"
    node: str
    kind: DaemonKind
    config: Path
    log: Path
    proc: subprocess.Popen
    started_at: float = field(default_factory=time.monotonic)
    stopped_on_purpose: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, wait: bool = True) -> float:
        """SIGKILLs the daemon and every process it forked (its own process group, made at start
        by this lab), as a crash would, and reaps it unless told not to. Returns the wall-clock
        time of the kill."""
        t = time.time()
        self.stopped_on_purpose = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if wait:
            self.reap(5.0)
        return t

    def terminate(self, wait: bool = True, timeout: float = 10.0) -> float:
        """SIGTERMs the main process (a clean stop: priority-0 advert, VIPs removed), waits for
        it unless told not to (then call reap() later: keepalived takes about a second to exit,
        long after its priority-0 advert); returns the wall-clock time of the signal."""
        t = time.time()
        self.stopped_on_purpose = True
        if self.alive():
            os.kill(self.proc.pid, signal.SIGTERM)
        if wait:
            self.reap(timeout)
        return t

    def reap(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5.0)
        # Children left behind in the group (keepalived's VRRP child) go too.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


class Lab:
    """A bridge, two directors and a client, each in its own namespace."""

    def __init__(self, ipv6: bool = True, workdir: str | None = None, keep: bool = False,
                 vigild: str | None = None):
        # vl<owner pid>x<random>: unique per run, and tells a later run whose leftovers it sees.
        self.prefix = f"vl{os.getpid()}x{random.randrange(1000):03d}"
        self.ns = {node: f"{self.prefix}-{node}" for node in (*NODES, "br")}
        self.ipv6 = ipv6
        self.keep = keep
        self.vigild = vigild
        self.work = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-", dir=workdir))
        if keep:
            (self.work / "KEEP").touch()  # asked for: later runs leave it alone
        self.created_ns: list[str] = []
        self.daemons: list[Daemon] = []
        self.helpers: list[subprocess.Popen] = []
        self.nft_tables: list[tuple[str, str]] = []
        self._state_readers: dict[str, int] = {}
        self._state_lines: dict[str, list[list[str]]] = {}
        self._state_partial: dict[str, bytes] = {}

    # ---- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "Lab":
        try:
            self.setup()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.teardown()

    def setup(self) -> None:
        remove_orphans()
        for node in ("br", *NODES):
            run(["ip", "netns", "add", self.ns[node]])
            self.created_ns.append(self.ns[node])
            # No DAD: addresses (and IPv6 link-local sources for VRRPv3) usable at once.
            self.sysctl(node, "net.ipv6.conf.all.accept_dad", "0")
            self.sysctl(node, "net.ipv6.conf.default.accept_dad", "0")
            self.sysctl(node, "net.ipv6.conf.default.dad_transmits", "0")
            if node == "br" or not self.ipv6:
                self.sysctl(node, "net.ipv6.conf.default.disable_ipv6", "1")
            self.ip(node, "link", "set", "lo", "up")
        br = self.ns["br"]
        self.ip("br", "link", "add", "br0", "type", "bridge", "stp_state", "0",
                "forward_delay", "0", "mcast_snooping", "0")
        for node in NODES:
            self.ip("br", "link", "add", self.port(node), "type", "veth", "peer", "name", "eth0",
                    "netns", self.ns[node])
            self.ip("br", "link", "set", self.port(node), "master", "br0", "up")
            self.ip(node, "link", "set", "eth0", "address", MAC[node])
            self.ip(node, "addr", "add", f"{ADDR4[node]}/{PREFIX4}", "dev", "eth0")
            if self.ipv6:
                self.ip(node, "-6", "addr", "add", f"{ADDR6[node]}/{PREFIX6}", "dev", "eth0",
                        "nodad")
            self.ip(node, "link", "set", "eth0", "up")
        self.ip("br", "link", "set", "br0", "up")
        # The client learns the VIP's MAC from gratuitous ARP / unsolicited NA as well.
        self.sysctl("c", "net.ipv4.conf.all.arp_accept", "1")
        self.sysctl("c", "net.ipv4.conf.eth0.arp_accept", "1")
        # Crafted adverts from the client go out of eth0 to 224.0.0.18.
        self.ip("c", "route", "add", "224.0.0.0/4", "dev", "eth0")
        # Wait until every port forwards (no STP, forward_delay 0: immediate, but bounded).
        wait_until(lambda: all(self._port_forwarding(n) for n in NODES), 5.0,
                   f"bridge ports forwarding in {br}")

    def empty_namespace(self) -> str:
        """A namespace with only a loopback: where a daemon that is to move itself into a
        director's namespace starts, so that one that fails to move reaches no network (the
        host's own may even be on the lab's addresses)."""
        name = f"{self.prefix}-empty"
        if name not in self.created_ns:
            run(["ip", "netns", "add", name])
            self.created_ns.append(name)
            run(["ip", "-n", name, "link", "set", "lo", "up"])
        return name

    def teardown(self) -> None:
        for helper in self.helpers:
            if helper.poll() is None:
                try:
                    os.killpg(helper.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    helper.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        for daemon in self.daemons:
            if daemon.alive():
                daemon.kill()
        for ns in reversed(self.created_ns):
            run(["ip", "netns", "del", ns], check=False)
            # keepalived with net_namespace leaves its private mount point for it behind.
            try:
                (Path("/run/keepalived") / ns).rmdir()
            except OSError:
                pass
        self.created_ns.clear()
        for reader in self._state_readers.values():
            os.close(reader)
        self._state_readers.clear()
        if not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    # ---- low-level helpers ----------------------------------------------------------------
    @staticmethod
    def port(node: str) -> str:
        return f"p-{node}"

    def ip(self, node: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(["ip", "-n", self.ns[node], *args], check=check)

    def exec(self, node: str, *cmd: str, check: bool = True,
             timeout: float = 10.0) -> subprocess.CompletedProcess:
        return run(["ip", "netns", "exec", self.ns[node], *cmd], check=check, timeout=timeout)

    def sysctl(self, node: str, key: str, value: str) -> None:
        self.exec(node, "sysctl", "-qw", f"{key}={value}")

    def spawn(self, node: str, cmd: list[str], log: Path | None = None,
              **popen) -> subprocess.Popen:
        """Starts a helper process in a namespace in its own process group; teardown kills it."""
        out = open(log, "ab") if log else subprocess.DEVNULL
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns[node], *cmd],
                                stdout=popen.pop("stdout", out),
                                stderr=popen.pop("stderr", subprocess.STDOUT),
                                stdin=popen.pop("stdin", subprocess.DEVNULL),
                                start_new_session=True, **popen)
        if log:
            out.close()
        self.helpers.append(proc)
        return proc

    def _port_forwarding(self, node: str) -> bool:
        out = run(["bridge", "-n", self.ns["br"], "-j", "link", "show", "dev", self.port(node)],
                  check=False).stdout
        try:
            return any(p.get("state") == "forwarding" for p in json.loads(out or "[]"))
        except json.JSONDecodeError:
            return False

    # ---- daemons --------------------------------------------------------------------------
    def write_config(self, node: str, text: str) -> Path:
        path = self.work / node / "vrrp.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def start(self, node: str, kind: str | DaemonKind, config: str,
              exec_in: str | None = None) -> Daemon:
        """Starts a VRRP daemon on a director with the config text rendered for that node, in
        the director's namespace (ip netns exec), or in namespace exec_in (a full name), for a
        config whose net_namespace moves the daemon to the director itself."""
        if isinstance(kind, str):
            kind = daemon_kind(kind, self.vigild)
        if node not in DIRECTORS:
            raise LabError(f"daemons run on directors, not {node}")
        for old in self.daemons:
            if old.node == node and old.alive():
                raise LabError(f"{node} already runs {old.kind.name} (pid {old.pid})")
        path = self.write_config(node, config)
        node_dir = path.parent
        log = node_dir / f"{kind.name}.{len(self.daemons)}.log"
        for stale in node_dir.glob("*.pid"):
            stale.unlink()
        cmd = ["ip", "netns", "exec", exec_in or self.ns[node],
               *kind.command(path, node_dir, config_id=node)]
        with open(log, "wb") as out:
            # Own session and process group: kill() takes the daemon and its children at once.
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    cwd=node_dir)
        daemon = Daemon(self, node, kind, path, log, proc)
        self.daemons.append(daemon)
        return daemon

    def notify_script(self, node: str) -> tuple[Path, Path]:
        """A generic `notify` script that appends "TYPE NAME STATE PRIORITY" lines to a file
        (both daemons call it with keepalived's arguments). Each call is its own process, and two
        started close together may append out of order (keepalived and vigild alike run them
        without waiting), so states() reads the state FIFO, not this file."""
        node_dir = self.work / node
        node_dir.mkdir(parents=True, exist_ok=True)
        states = node_dir / "states"
        states.touch()
        script = node_dir / "notify.sh"
        script.write_text(f'#!/bin/sh\necho "$@" >> {states}\n')
        script.chmod(0o755)
        return script, states

    def state_fifo(self, node: str) -> Path:
        """The node's `vrrp_notify_fifo` (put it in the config's global_defs): the daemon writes
        one line per transition from its VRRP loop, in order. The lab holds the read end open
        from now on, so lines written before a read (or by a daemon since killed) are kept."""
        if node not in self._state_readers:
            node_dir = self.work / node
            node_dir.mkdir(parents=True, exist_ok=True)
            path = node_dir / "states.fifo"
            os.mkfifo(path)
            self._state_readers[node] = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            self._state_lines[node] = []
            self._state_partial[node] = b""
        return self.work / node / "states.fifo"

    def states(self, node: str) -> list[list[str]]:
        """The transitions the node's daemon wrote to its state FIFO, oldest first, as fields:
        `INSTANCE "VI_1" MASTER 150` -> ["INSTANCE", "VI_1", "MASTER", "150"]."""
        reader = self._state_readers.get(node)
        if reader is None:
            raise LabError(f"{node} has no state FIFO: call state_fifo() before the daemon starts")
        for _ in range(64):  # bounded: 64 reads of 64 KiB
            try:
                chunk = os.read(reader, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            *complete, self._state_partial[node] = (self._state_partial[node] + chunk).split(b"\n")
            self._state_lines[node].extend(
                [field.strip('"') for field in line.decode(errors="replace").split()]
                for line in complete if line.strip())
        return list(self._state_lines[node])

    def notify_script_lines(self, node: str) -> list[list[str]]:
        """What the generic notify script recorded, in the order the calls happened to append."""
        path = self.work / node / "states"
        try:
            return [line.split() for line in path.read_text().splitlines() if line.strip()]
        except OSError:
            return []

    def last_state(self, node: str, instance: str) -> str | None:
        """The instance's last state. MASTER_RX_LOWER_PRI is not a state (a master heard a
        lower priority advert and stays master): keepalived writes it when both nodes were
        master for a moment at start, so it is skipped, as are notify_priority_changes'
        MASTER_PRIORITY / BACKUP_PRIORITY lines."""
        events = ("MASTER_RX_LOWER_PRI", "MASTER_PRIORITY", "BACKUP_PRIORITY")
        for fields in reversed(self.states(node)):
            if len(fields) >= 3 and fields[1] == instance and fields[2] not in events:
                return fields[2]
        return None

    # ---- observations ---------------------------------------------------------------------
    def addresses(self, node: str) -> set[str]:
        out = self.ip(node, "-j", "addr", "show", "dev", "eth0", check=False).stdout
        try:
            links = json.loads(out or "[]")
        except json.JSONDecodeError:
            return set()
        return {a["local"] for link in links for a in link.get("addr_info", [])}

    def check_daemons(self) -> None:
        """Raises when a daemon this lab started has exited without being told to: every wait
        below checks it, so a daemon that dies at startup fails fast with its exit code."""
        for daemon in self.daemons:
            if not daemon.stopped_on_purpose and not daemon.alive():
                tail = " | ".join(daemon.log_text().strip().splitlines()[-3:])
                raise LabError(f"{daemon.kind.name} on {daemon.node} (pid {daemon.pid}) exited "
                               f"with {daemon.proc.returncode}: {tail}")

    def has_vip(self, node: str, vip: str = VIP4) -> bool:
        return vip in self.addresses(node)

    def holders(self, vip: str = VIP4) -> list[str]:
        return [d for d in DIRECTORS if self.has_vip(d, vip)]

    def wait_vip(self, node: str, vip: str = VIP4, timeout: float = DEFAULT_TIMEOUT) -> float:
        """Waits until node holds vip; returns the wall-clock time it was first seen."""
        def present() -> bool:
            self.check_daemons()
            return self.has_vip(node, vip)
        wait_until(present, timeout, f"{vip} on {node}", interval=0.002)
        return time.time()

    def wait_sole_holder(self, node: str, vip: str = VIP4,
                         timeout: float = DEFAULT_TIMEOUT) -> float:
        try:
            def sole() -> bool:
                self.check_daemons()
                return self.holders(vip) == [node]
            wait_until(sole, timeout, f"{vip} on {node} only", interval=0.002)
        except LabError as e:
            raise LabError(f"{e} (now on {self.holders(vip)})") from None
        return time.time()

    def neigh_mac(self, vip: str = VIP4) -> str | None:
        """The MAC the client has for vip (None when it has no usable entry)."""
        out = self.ip("c", "-j", "neigh", "show", "dev", "eth0", "to", vip, check=False).stdout
        try:
            entries = json.loads(out or "[]")
        except json.JSONDecodeError:
            return None
        for entry in entries:
            if entry.get("dst") == vip and "lladdr" in entry and "FAILED" not in entry.get(
                    "state", []):
                return entry["lladdr"]
        return None

    def ping(self, vip: str = VIP4, count: int = 3, timeout_s: int = 3) -> bool:
        """Client pings vip; True when at least one reply came back."""
        proc = self.exec("c", "ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "1",
                         "-w", str(timeout_s), vip, check=False, timeout=timeout_s + 5)
        return proc.returncode == 0

    def wait_client_reaches(self, node: str, vip: str = VIP4,
                            timeout: float = DEFAULT_TIMEOUT) -> None:
        """Waits until the client's pings to vip are answered and its neighbour entry names
        node's MAC (the VIP really moved, as the client sees it)."""
        def reached() -> bool:
            self.check_daemons()
            return self.ping(vip, count=1, timeout_s=1) and self.neigh_mac(vip) == MAC[node]
        try:
            wait_until(reached, timeout, f"client reaching {vip} at {node}'s MAC {MAC[node]}",
                       interval=0.05)
        except LabError as e:
            raise LabError(f"{e} (neighbour entry: {self.neigh_mac(vip)})") from None

    # ---- faults ---------------------------------------------------------------------------
    def link(self, node: str, up: bool) -> None:
        """Sets the director's own interface down/up (carrier loss as the daemon sees it)."""
        self.ip(node, "link", "set", "eth0", "up" if up else "down")

    def cable(self, node: str, connected: bool) -> None:
        """Plugs/unplugs node at the bridge: the node keeps its link but reaches nobody, as a
        dead host would look to the others."""
        self.ip("br", "link", "set", self.port(node), "up" if connected else "down")

    def cable_cutter(self, node: str) -> Callable[[], float]:
        """Prepares an instant unplug of node: a running `ip -batch` in the bridge namespace
        that sets the port down when called, without the ~5 ms of starting `ip`. The returned
        function cuts and returns the wall-clock time just before the cut."""
        proc = self.spawn("br", ["ip", "-force", "-batch", "-"], stdin=subprocess.PIPE)

        def cut() -> float:
            t = time.time()
            proc.stdin.write(f"link set dev {self.port(node)} down\n".encode())
            proc.stdin.flush()
            proc.stdin.close()
            wait_until(lambda: not self._port_up(node), 2.0, f"{node} unplugged", 0.0005)
            proc.wait(timeout=5)
            return t
        return cut

    def _port_up(self, node: str) -> bool:
        out = self.ip("br", "-j", "link", "show", "dev", self.port(node), check=False).stdout
        try:
            return "UP" in json.loads(out or "[]")[0].get("flags", [])
        except (json.JSONDecodeError, IndexError):
            return False

    def flush_vips(self, node: str) -> None:
        """Removes every address but the node's own from its interface (what a reboot does to
        a crashed director's leftover VIPs)."""
        own = {ADDR4[node], ADDR6[node]}
        for address in self.addresses(node) - own:
            if address.startswith("fe80:"):
                continue
            length = 128 if ":" in address else 32
            self.ip(node, "addr", "del", f"{address}/{length}", "dev", "eth0", check=False)

    def partition(self, on: bool) -> None:
        """Cuts (or heals) every frame between the two directors with bridge port isolation;
        both still reach the client."""
        for node in DIRECTORS:
            run(["bridge", "-n", self.ns["br"], "link", "set", "dev", self.port(node),
                 "isolated", "on" if on else "off"])

    def nft(self, node: str, ruleset: str) -> None:
        """Loads an nftables ruleset in a node's namespace (removed with the namespace)."""
        path = self.work / f"nft-{node}-{len(self.nft_tables)}.nft"
        path.write_text(ruleset)
        self.exec(node, "nft", "-f", str(path))
        self.nft_tables.append((node, str(path)))

    def drop_vrrp_multicast(self, node: str) -> None:
        """Drops multicast VRRP in and out of a director (unicast mode must not need it)."""
        self.nft(node, """table inet vlab_mcast {
  chain in { type filter hook input priority 0; meta l4proto 112 ip daddr 224.0.0.18 drop;
    meta l4proto 112 ip6 daddr ff02::12 drop; }
  chain out { type filter hook output priority 0; meta l4proto 112 ip daddr 224.0.0.18 drop;
    meta l4proto 112 ip6 daddr ff02::12 drop; }
}
""")

    # ---- load -----------------------------------------------------------------------------
    def start_busy_loops(self, count: int) -> list[subprocess.Popen]:
        """One busy loop per count (nice 0, host namespace); killed by PID on teardown."""
        procs = []
        for _ in range(count):
            proc = subprocess.Popen(["python3", "-c", "while True: pass"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            self.helpers.append(proc)
            procs.append(proc)
        return procs

    def stop_helper(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=5)


# ---- config rendering ---------------------------------------------------------------------
def render(template: str, node: str, **values: object) -> str:
    """Fills @NAME@ placeholders: per-node ones (@ADDR4@, @ADDR6@, @PEER4@, @PEER6@, @NODE@)
    and the caller's. keepalived's own $NAME macros and @ID lines stay untouched."""
    peer = "d2" if node == "d1" else "d1"
    table = {"NODE": node, "ADDR4": ADDR4[node], "ADDR6": ADDR6[node], "PEER4": ADDR4[peer],
             "PEER6": ADDR6[peer], "VIP4": VIP4, "VIP4_B": VIP4_B, "VIP6": VIP6,
             "VIP6_B": VIP6_B}
    table.update({k.upper(): str(v) for k, v in values.items()})
    out = template
    for key, value in table.items():
        out = out.replace(f"@{key}@", value)
    return out


def instance(name: str = "VI_1", vrid: int = 51, priority: int = 100, advert_int: float = 1,
             version: int = 2, vips: tuple[str, ...] = (VIP4,), state: str = "BACKUP",
             nopreempt: bool = False, notify: Path | None = None, extra: str = "",
             unicast: tuple[str, str] | None = None, ipv6: bool = False,
             auth_pass: str | None = None) -> str:
    """One vrrp_instance block in keepalived syntax."""
    lines = [f"vrrp_instance {name} {{", f"  state {state}", "  interface eth0",
             f"  virtual_router_id {vrid}", f"  priority {priority}",
             f"  advert_int {advert_int:g}", f"  version {version}"]
    if ipv6:
        lines.append("  native_ipv6")
    if nopreempt:
        lines.append("  nopreempt")
    if auth_pass:
        lines += ["  authentication {", "    auth_type PASS", f"    auth_pass {auth_pass}",
                  "  }"]
    if unicast:
        src, peer = unicast
        lines += [f"  unicast_src_ip {src}", "  unicast_peer {", f"    {peer}", "  }"]
    prefix_len = 128 if ipv6 else 32
    lines += ["  virtual_ipaddress {"] + [f"    {v}/{prefix_len} dev eth0" for v in vips] + ["  }"]
    if notify:
        lines.append(f"  notify {notify}")
    if extra:
        lines += ["  " + line for line in extra.strip().splitlines()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def global_defs(extra: str = "") -> str:
    # Scripts run as root inside the lab's namespaces; keepalived's script security would refuse
    # the lab's scripts under a world-writable temp dir, so it stays off (as in keepalived's
    # default) with an explicit script user to silence the search for keepalived_script.
    return "global_defs {\n  script_user root\n" + extra + "}\n"


def run_vigild_scenario(name: str, description: str, scenario: Callable[[Lab], None],
                        extra_logs: Callable[[Lab], list[tuple[str, Path]]] | None = None) -> int:
    """The command line of a vigild-only scenario script (--vigild PATH [--keep]): runs
    `scenario` in a fresh two-director lab and prints PASS NAME, or FAIL NAME with the daemons'
    last log lines and the tails of `extra_logs` (title, path). Returns the exit code."""
    import argparse
    import traceback

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--vigild", required=True, help="path of vigild")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    started = time.monotonic()
    with Lab(ipv6=False, vigild=args.vigild, keep=args.keep) as lab:
        try:
            scenario(lab)
        except Exception as e:  # noqa: BLE001 - any failure: report it with the daemons' logs
            print(f"FAIL {name}: {e}")
            traceback.print_exc()
            for daemon in lab.daemons:
                print(f"---- vigild on {daemon.node} (pid {daemon.pid}), last lines:")
                print("\n".join(daemon.log_text().splitlines()[-40:]))
            for title, path in (extra_logs(lab) if extra_logs else []):
                if path.exists():
                    print(f"---- {title}:")
                    print(path.read_text(errors="replace")[-4000:])
            return 1
    print(f"PASS {name} ({time.monotonic() - started:.1f} s)")
    return 0
