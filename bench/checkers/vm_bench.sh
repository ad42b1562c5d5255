# vigil-timeout: 1500
# shellcheck shell=bash disable=SC1091,SC2154  # /tests/* exist in the VM; vigild_lib sets vigild_pid
# bench/checkers in the VM: keepalived 2.2.7 (-C) and vigild (-C) one after the other on the
# same configuration and the same real servers, on a real IPVS kernel. Not a CTest test: it
# lives outside integration/vm/tests (whose *.sh the vm suite runs); bench/checkers/vm-run stages
# it with lib.sh, vigild_lib.bash and a parameter file (bench.env) and boots it. Prints one
# "BENCH ..." line per measurement (key=value), also on the second serial port (markers.log).
#
# Parameters (bench.env): SPECS ("TYPE:CHECKERS:DELAY_LOOP ..."; TYPE tcp, http, ssl, misc),
# WINDOW (seconds measured), DETECT_REPS (detection repetitions per daemon), DAEMONS.
#
# Topology: the test's own namespace is the director (the daemons, IPVS); namespace srv holds
# the real servers: addresses 10.0.2.11..10.0.2.(10+ADDRS) on one veth, one busybox httpd per
# port (it serves every address; HTTP_GET and TCP_CHECK), `openssl s_server -www` per port for
# SSL_GET; MISC_CHECK runs /tmp/bench-misc.sh (appends a line to a count file, exits 0).
# Checker i checks 10.0.2.(11 + i % ADDRS), port BASE + i / ADDRS; 16 real servers to a virtual
# server 10.0.1.100:(1000 + v).
#
# Checks done are counted on the server side (keepalived has no counters): an nftables counter
# in srv of TCP SYNs (without ACK) arriving at the checked ports (one connection per check), and
# the MISC count file's lines. CPU: /proc/PID/stat utime+stime (USER_HZ ticks) over WINDOW, of
# keepalived's checker child (the -c pidfile) and of vigild's thread named "check"
# (/proc/PID/task/TID/comm), plus whole-process figures (vigild: all threads; keepalived: parent
# + checker) and cutime+cstime (reaped children: MISC_CHECK's scripts). RSS: VmRSS at the end;
# PSS: smaps_rollup's Pss summed over the daemon's processes (keepalived: parent + checker).
. /tests/lib.sh
. /tests/vigild_lib.bash
. /tests/bench.env
trap 'echo "--- keepalived log tail"; tail -n 20 /tmp/bench-keepalived.log; show_log bench; kill_spawned' EXIT

SPECS=${SPECS:-tcp:200:1}
WINDOW=${WINDOW:-20}
DETECT_REPS=${DETECT_REPS:-15}
DAEMONS=${DAEMONS:-keepalived vigild}
ADDRS=${ADDRS:-32}
HZ=100  # USER_HZ of /proc/PID/stat

[ -x /usr/sbin/keepalived ] || fail "keepalived is not in the image"

out() {
  echo "$*"
  echo "$*" >/dev/ttyS1 2>/dev/null
}

# --- real servers -------------------------------------------------------------------------------
new_ns srv
ip link add eth1 type veth peer name eth0 netns srv
ip link set eth1 up
ip addr add 10.0.2.1/24 dev eth1
ip -n srv link set eth0 up
i=0
while [ $i -lt "$ADDRS" ]; do
  ip -n srv addr add "10.0.2.$((11 + i))/24" dev eth0
  i=$((i + 1))
done
ip -n srv addr add 10.0.2.250/24 dev eth0  # the detection server
mkdir -p /tmp/www
echo ok >/tmp/www/index.html
# Accept queues deep enough for a burst of checks.
ip netns exec srv sysctl -qw net.core.somaxconn=4096
ip netns exec srv sysctl -qw net.ipv4.tcp_max_syn_backlog=4096

# The largest checker count of a type decides how many ports its servers need.
max_tcp=0 max_ssl=0
for spec in $SPECS; do
  IFS=: read -r type n _ <<<"$spec"
  case $type in
    tcp | http) [ "$n" -gt "$max_tcp" ] && max_tcp=$n ;;
    ssl) [ "$n" -gt "$max_ssl" ] && max_ssl=$n ;;
  esac
done
http_ports=$(((max_tcp + ADDRS - 1) / ADDRS))
ssl_ports=$(((max_ssl + ADDRS - 1) / ADDRS))
p=0
while [ $p -lt $http_ports ]; do
  spawn nsenter --net=/run/netns/srv httpd -f -p $((8000 + p)) -h /tmp/www
  p=$((p + 1))
done
p=0
while [ $p -lt $ssl_ports ]; do
  spawn nsenter --net=/run/netns/srv env OPENSSL_CONF=/dev/null openssl s_server -quiet -www -4 \
    -accept $((9400 + p)) -cert /tests/bench-cert.pem -key /tests/bench-key.pem >/dev/null 2>&1
  p=$((p + 1))
done
[ $http_ports -gt 0 ] && wait_tcp srv 10.0.2.11 8000
[ $ssl_ports -gt 0 ] && wait_tcp srv 10.0.2.11 9400

nsenter --net=/run/netns/srv nft -f - <<'NFT' || fail "nft counter"
table inet bench {
  counter syns {}
  chain input {
    type filter hook input priority 0;
    tcp dport 8000-9999 tcp flags & (syn | ack) == syn counter name syns
  }
}
NFT
syn_count() {
  nsenter --net=/run/netns/srv nft list counter inet bench syns |
    awk '$1 == "packets" { print $2 }'
}

cat >/tmp/bench-misc.sh <<'SH'
#!/bin/sh
echo >>/tmp/bench-misc.count
exit 0
SH
chmod 0755 /tmp/bench-misc.sh
: >/tmp/bench-misc.count

# --- configuration ------------------------------------------------------------------------------
# write_config TYPE N DELAY FILE
write_config() {
  local type=$1 n=$2 delay=$3 file=$4 i=0 port checker
  {
    echo "global_defs {"
    echo "    router_id bench"
    echo "}"
    while [ $i -lt "$n" ]; do
      if [ $((i % 16)) -eq 0 ]; then
        [ $i -gt 0 ] && echo "}"
        echo "virtual_server 10.0.1.100 $((1000 + i / 16)) {"
        echo "    delay_loop $delay"
        echo "    lvs_sched rr"
        echo "    lvs_method NAT"
        echo "    protocol TCP"
      fi
      case $type in
        tcp) port=$((8000 + i / ADDRS)) checker="TCP_CHECK {
            connect_timeout 2
        }" ;;
        http) port=$((8000 + i / ADDRS)) checker="HTTP_GET {
            url {
                path /index.html
                status_code 200
            }
            connect_timeout 2
        }" ;;
        ssl) port=$((9400 + i / ADDRS)) checker="SSL_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 2
        }" ;;
        misc) port=$((8000 + i / ADDRS)) checker="MISC_CHECK {
            misc_path /tmp/bench-misc.sh
            misc_timeout 5
        }" ;;
      esac
      echo "    real_server 10.0.2.$((11 + i % ADDRS)) $port {"
      echo "        weight 1"
      echo "        $checker"
      echo "    }"
      i=$((i + 1))
    done
    [ "$n" -gt 0 ] && echo "}"
  } >"$file"
}

# --- daemons ------------------------------------------------------------------------------------
# start_daemon DAEMON CONFIG: sets daemon_pid (the process) and cpu_pid + cpu_task (the
# checker's process and /proc path of the checker's thread or process).
start_daemon() {
  rm -f /tmp/bench-ka.pid /tmp/bench-ka-ck.pid /tmp/vigild-bench.pid
  case $1 in
    keepalived)
      spawn keepalived -C -n -l -f "$2" -p /tmp/bench-ka.pid -c /tmp/bench-ka-ck.pid \
        >>/tmp/bench-keepalived.log 2>&1
      daemon_pid=$!
      local i=0
      while [ $i -lt 100 ] && ! [ -s /tmp/bench-ka-ck.pid ]; do
        sleep 0.1
        i=$((i + 1))
      done
      [ -s /tmp/bench-ka-ck.pid ] || fail "keepalived's checker process did not start"
      checker_pid=$(cat /tmp/bench-ka-ck.pid)
      checker_stat=/proc/$checker_pid/stat
      ;;
    vigild)
      start_vigild bench "$2" -
      daemon_pid=$vigild_pid
      checker_pid=$vigild_pid
      checker_stat=
      local i=0 task
      while [ $i -lt 100 ] && [ -z "$checker_stat" ]; do
        for task in /proc/"$vigild_pid"/task/*; do
          [ "$(cat "$task/comm" 2>/dev/null)" = check ] && checker_stat=$task/stat
        done
        [ -z "$checker_stat" ] && sleep 0.1
        i=$((i + 1))
      done
      if [ -z "$checker_stat" ]; then
        cat /proc/"$vigild_pid"/task/*/comm
        fail "vigild has no thread named check"
      fi
      ;;
  esac
}

stop_daemon() {
  stop_pid "$daemon_pid" TERM 30
  ipvsadm -C
}

# ticks STATFILE: utime+stime; child_ticks STATFILE: cutime+cstime (fields 14-17).
ticks() { sed 's/.*) //' "$1" | awk '{ print $12 + $13 }'; }
sys_ticks() { sed 's/.*) //' "$1" | awk '{ print $13 }'; }
child_ticks() { sed 's/.*) //' "$1" | awk '{ print $14 + $15 }'; }
# process_ticks: the daemon's whole CPU (keepalived: parent + checker child), own and children's.
process_ticks() {
  local total=0 pid
  for pid in $daemon_pid $([ "$checker_pid" != "$daemon_pid" ] && echo "$checker_pid"); do
    total=$((total + $(ticks "/proc/$pid/stat")))
  done
  echo $total
}
# run_ns STATFILE: the task's run time in ns (the first field of schedstat next to it; 0 when the
# kernel has none), a cross-check of the tick-sampled utime+stime.
run_ns() {
  local f=${1%stat}schedstat
  if [ -r "$f" ]; then cut -d' ' -f1 "$f"; else echo 0; fi
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# pss_kb PID...: the processes' summed proportional set size (shared pages split between the
# processes mapping them: keepalived's parent and checker child share most of theirs).
pss_kb() {
  local pid total=0
  for pid in "$@"; do
    total=$((total + $(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup")))
  done
  echo $total
}
dests() { ipvsadm -Sn | grep -c '^-a'; }
checks_done() {
  if [ "$1" = misc ]; then wc -l </tmp/bench-misc.count; else syn_count; fi
}
secs() { awk -v t="$1" -v hz=$HZ 'BEGIN { printf "%.2f", t / hz }'; }

# cost DAEMON TYPE N DELAY
cost() {
  local daemon=$1 type=$2 n=$3 delay=$4 i
  write_config "$type" "$n" "$delay" /tmp/bench.conf
  start_daemon "$daemon" /tmp/bench.conf
  # Until every real server is in IPVS (at most 60 s), then a delay_loop + 3 s of warm-up (every
  # checker has run at least once).
  i=0
  while [ $i -lt 300 ] && [ "$(dests)" -lt "$n" ]; do
    sleep 0.2
    i=$((i + 1))
  done
  local up
  up=$(dests)
  sleep $((delay + 3))
  local c0 t0 r0 s0 p0 ch0 c1 t1 r1 s1 p1 ch1 start end
  c0=$(checks_done "$type")
  t0=$(ticks "$checker_stat")
  r0=$(run_ns "$checker_stat")
  s0=$(sys_ticks "$checker_stat")
  p0=$(process_ticks)
  ch0=$(child_ticks "/proc/$checker_pid/stat")
  start=$EPOCHREALTIME
  sleep "$WINDOW"
  c1=$(checks_done "$type")
  t1=$(ticks "$checker_stat")
  r1=$(run_ns "$checker_stat")
  s1=$(sys_ticks "$checker_stat")
  p1=$(process_ticks)
  ch1=$(child_ticks "/proc/$checker_pid/stat")
  end=$EPOCHREALTIME
  local rss parent_rss=0 load pss
  rss=$(rss_kb "$checker_pid")
  if [ "$checker_pid" != "$daemon_pid" ]; then
    pss=$(pss_kb "$daemon_pid" "$checker_pid")
  else
    pss=$(pss_kb "$daemon_pid")
  fi
  [ "$checker_pid" != "$daemon_pid" ] && parent_rss=$(rss_kb "$daemon_pid")
  load=$(cut -d' ' -f1 /proc/loadavg)
  local down=$((n - $(dests)))
  stop_daemon
  # An empty count (the nft listing failed) would read as 0 checks: say so.
  if [ -z "$c0" ] || [ -z "$c1" ]; then
    out "BENCH warning: no server-side count for $daemon $type $n"
  fi
  local checks=$((c1 - c0))
  awk -v d="$daemon" -v ty="$type" -v n="$n" -v dl="$delay" -v s="$start" -v e="$end" \
    -v c="$checks" -v r=$((r1 - r0)) -v sy=$((s1 - s0)) -v t=$((t1 - t0)) -v p=$((p1 - p0)) -v ch=$((ch1 - ch0)) -v hz=$HZ \
    -v rss="$rss" -v prss="$parent_rss" -v pss="$pss" -v up="$up" -v down="$down" -v load="$load" 'BEGIN {
      w = e - s; expected = n * w / dl
      printf "BENCH cost daemon=%s type=%s checkers=%d delay_loop=%d window_s=%.1f checks=%d", d, ty, n, dl, w, c
      printf " expected=%.0f kept_up=%.2f checker_cpu_s=%.2f checker_sys_s=%.2f checker_run_s=%.2f process_cpu_s=%.2f children_cpu_s=%.2f", expected, c / expected, t / hz, sy / hz, r / 1e9, p / hz, ch / hz
      if (c > 0) printf " checker_cpu_s_per_1000=%.3f process_cpu_s_per_1000=%.3f", t / hz * 1000 / c, p / hz * 1000 / c
      printf " checker_cpu_pct=%.1f rss_kb=%d parent_rss_kb=%d pss_kb=%d in_ipvs_at_start=%d down_at_end=%d vm_load1=%s\n", 100 * t / hz / w, rss, prss, pss, up, down, load
    }' | while read -r line; do out "$line"; done
}

# --- detection ----------------------------------------------------------------------------------
# One real server 10.0.2.250:9000 (busybox httpd), TCP_CHECK, delay_loop 1, connect_timeout 1,
# retry 1, delay_before_retry 1 (keepalived's default, written out). Each repetition: the server
# is up and in IPVS; after a random 0.3-1.3 s it is killed (SIGKILL: connects get RST at once,
# the same for both daemons); the time from the kill to the first poll of /proc/net/ip_vs (this
# namespace's IPVS table, what ipvsadm -Sn prints) without it. Polled every ~10 ms without
# forking (bash builtins only); ipvsadm -Sn confirms the removal afterwards.
cat >/tmp/bench-detect.conf <<'CONF'
global_defs {
    router_id bench
}
virtual_server 10.0.1.200 80 {
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.250 9000 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
CONF
mkfifo /tmp/bench-tick
exec 9<>/tmp/bench-tick  # read -t on it: a sleep without a fork
listed() {  # 0 when /proc/net/ip_vs lists 10.0.2.250:9000 (0A0002FA:2328)
  local line
  while read -r line; do
    [[ $line == *0A0002FA:2328* ]] && return 0
  done </proc/net/ip_vs
  return 1
}
detect() {
  local daemon=$1 rep=0 i times="" polls=0 t0 t1 pid
  # The server runs before the daemon starts (a daemon starts with its real servers up: a first
  # check before the server listened would leave a retry pending); each later repetition's
  # server is back in IPVS only after a check succeeded.
  nsenter --net=/run/netns/srv httpd -f -p 10.0.2.250:9000 -h /tmp/www &
  pid=$!
  wait_tcp srv 10.0.2.250 9000
  start_daemon "$daemon" /tmp/bench-detect.conf
  sleep 3
  while [ $rep -lt "$DETECT_REPS" ]; do
    if [ $rep -gt 0 ]; then
      nsenter --net=/run/netns/srv httpd -f -p 10.0.2.250:9000 -h /tmp/www &
      pid=$!
    fi
    i=0
    while [ $i -lt 300 ] && ! listed; do
      read -r -t 0.05 -u 9
      i=$((i + 1))
    done
    listed || fail "$daemon: 10.0.2.250:9000 not in IPVS 15 s after its server started"
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.3 + r / 32768 }')"
    t0=$EPOCHREALTIME
    kill -9 "$pid"
    i=0
    while [ $i -lt 1000 ] && listed; do
      read -r -t 0.01 -u 9
      i=$((i + 1))
    done
    t1=$EPOCHREALTIME
    wait "$pid" 2>/dev/null
    listed && fail "$daemon: 10.0.2.250:9000 still in IPVS 10 s after its server was killed"
    ipvsadm -Sn | grep -q '10.0.2.250:9000' && fail "$daemon: ipvsadm -Sn still lists it"
    times="$times $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')"
    polls=$((polls + i))
    rep=$((rep + 1))
  done
  stop_daemon
  echo "$times" | tr ' ' '\n' | grep . | sort -n | awk -v d="$daemon" -v polls=$polls \
    -v load="$(cut -d' ' -f1 /proc/loadavg)" '
    { v[NR] = $1; sum += $1 }
    END {
      n = NR; med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      p99 = v[int(0.99 * n + 0.999999)]  # nearest rank
      all = ""; for (i = 1; i <= n; i++) all = all (i > 1 ? "," : "") v[i]
      printf "BENCH detect daemon=%s reps=%d median_ms=%d p99_ms=%d min_ms=%d max_ms=%d mean_ms=%d", d, n, med, p99, v[1], v[n], sum / n
      printf " mean_poll_ms=%.1f vm_load1=%s all_ms=%s\n", sum / polls, load, all
    }' | while read -r line; do out "$line"; done
}

out "BENCH info kernel=$(uname -r) cpus=$(nproc) keepalived=$(keepalived -v 2>&1 | head -n1 | awk '{ print $2 }') specs=\"$SPECS\" window=$WINDOW"
for daemon in $DAEMONS; do
  [ "$DETECT_REPS" -gt 0 ] && detect "$daemon"
done
for spec in $SPECS; do
  IFS=: read -r type n delay <<<"$spec"
  for daemon in $DAEMONS; do
    cost "$daemon" "$type" "$n" "$delay"
  done
done
