# shellcheck shell=bash
# bench/ipvs_program, the part that runs in the VM (as a test of integration/vm/init, which
# gives it a network namespace of its own and a timeout from the kernel command line). The host
# side (../run) puts the configuration and parameters under /bench. Every result goes to the
# second serial port as a line "VIGIL-BENCH daemon=D rep=R phase=P key=value...".
#
# For each repetition and each daemon in turn (alternating, so drift in the host's load falls
# on both), in a fresh namespace with an nlmon device:
#   cold     the daemon starts on base.conf; time to the full table in the kernel
#   nochange SIGHUP with the same file; netlink counted until the daemon is idle again
#   weight   WEIGHT_CHANGES times, after a random pause: one real server's weight changed in the
#            file, SIGHUP, time until the kernel shows the new weight; netlink counted until idle
#   drain    vigild only, DRAINS times: `vigilctl rs drain` and `rs ready` of that real server,
#            time from vigilctl's exec until the kernel shows weight 0 / the weight again
# then the daemon is killed, the table flushed (so the kernel's cleanup does not run behind the
# next measurement) and the namespace deleted.
set -u
# shellcheck source=/dev/null
. /bench/params  # SERVICES REALS DESTS REPS WEIGHT_CHANGES WARMUP DAEMONS TIMEOUT WATCH_*

report() {
  echo "VIGIL-BENCH $*"
  echo "VIGIL-BENCH $*" >/dev/ttyS1 2>/dev/null
}

modprobe nlmon || { echo "no nlmon module"; exit 1; }
report "phase=env services=$SERVICES reals=$REALS warmup=${WARMUP:-0} kernel=$(uname -r) cpus=$(nproc) mem_kb=$(awk '/MemTotal/ { print $2 }' /proc/meminfo) keepalived=\"$(keepalived -v 2>&1 | head -n1)\""

kill_namespace() {  # NS: every process in it (by PID), its table, itself
  local pid
  for pid in $(ip netns pids "$1" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  sleep 0.5
  ip netns exec "$1" ipvsadm -C 2>/dev/null
  ip netns del "$1"
}

# vigild's own count of what it sent since line MARK of its log ("applied N operations"), to
# cross-check the nlmon count; keepalived logs no such count.
own_count() {  # DAEMON LOG MARK
  [ "$1" = vigild ] || { echo -; return; }
  tail -n "+$(($3 + 1))" "$2" | sed -n 's/.*applied \([0-9]*\) operation.*/\1/p' |
    awk '{ sum += $1 } END { print sum + 0 }'
}
lines() { wc -l <"$1" 2>/dev/null || echo 0; }

failures=0
for rep in $(seq "$REPS"); do
  for daemon in $DAEMONS; do
    ns=bench-$daemon-$rep
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    if ! ip -n "$ns" link add nlmon0 type nlmon || ! ip -n "$ns" link set nlmon0 up; then
      echo "cannot make nlmon0"
      exit 1
    fi
    config=/tmp/$daemon-$rep.conf
    cp /bench/base.conf "$config"
    log=/tmp/$daemon-$rep.log
    case $daemon in
      vigild) command=(vigild -C -n -l -f "$config" -p "/tmp/vigild-$rep.pid") ;;
      keepalived) command=(keepalived -C -n -l -f "$config" -p "/tmp/keepalived-$rep.pid"
                           -c "/tmp/checkers-$rep.pid") ;;
    esac
    report "daemon=$daemon rep=$rep phase=load loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
    line=$(ip netns exec "$ns" vigil-ipvs-bench-probe cold "$SERVICES" "$DESTS" "$TIMEOUT" 3 \
      "$log" -- "${command[@]}")
    report "daemon=$daemon rep=$rep phase=cold $line own_ops=$(own_count "$daemon" "$log" 0)"
    pid=$(echo "$line" | sed -n 's/.* pid=\([0-9]*\).*/\1/p')
    case $line in
      result=ok*) ;;
      *) failures=$((failures + 1)); tail -n 30 "$log"; kill_namespace "$ns"; continue ;;
    esac

    mark=$(lines "$log")
    line=$(ip netns exec "$ns" vigil-ipvs-bench-probe reload "$pid" "$TIMEOUT" 3)
    report "daemon=$daemon rep=$rep phase=nochange $line own_ops=$(own_count "$daemon" "$log" "$mark")"

    # -W: the one-weight changes start WARMUP s after the no-change reload (steady state).
    sleep "${WARMUP:-0}"
    weight=1
    for change in $(seq "$WEIGHT_CHANGES"); do
      weight=$((weight + 1))
      # The weight line follows the watched real server's line (generate.py's layout).
      sed "/real_server ${WATCH_RIP%:*} ${WATCH_RIP#*:} {/{n;s/weight .*/weight $weight/}" \
        "$config" >"$config.new" && mv "$config.new" "$config"
      # A random pause (0-9.9 s) so the SIGHUPs fall at random phases of vigild's 10 s resync.
      sleep "$((RANDOM % 10)).$((RANDOM % 10))"
      mark=$(lines "$log")
      line=$(ip netns exec "$ns" vigil-ipvs-bench-probe reload "$pid" "$TIMEOUT" 3 \
        "$WATCH_VIP" "$WATCH_RIP" "$weight")
      report "daemon=$daemon rep=$rep phase=weight change=$change $line own_ops=$(own_count "$daemon" "$log" "$mark")"
      case $line in result=ok*) ;; *) failures=$((failures + 1)) ;; esac
    done
    # DRAINS (vigild only): `vigilctl rs drain` then `rs ready` through the control socket, each
    # timed from vigilctl's exec until the kernel shows weight 0 / the weight again.
    if [ "$daemon" = vigild ] && [ "${DRAINS:-0}" -gt 0 ]; then
      mkdir -p /var/lib  # vigild keeps the overrides in /var/lib/vigil
      for drain in $(seq "$DRAINS"); do
        for step in drain ready; do
          want=0
          [ "$step" = ready ] && want=$weight
          line=$(ip netns exec "$ns" vigil-ipvs-bench-probe command "$TIMEOUT" "$WATCH_VIP" \
            "$WATCH_RIP" "$want" -- vigilctl -s "$ns" rs "$step" "$WATCH_VIP" "$WATCH_RIP")
          report "daemon=$daemon rep=$rep phase=$step n=$drain $line"
          case $line in result=ok*) ;; *) failures=$((failures + 1)) ;; esac
          sleep "0.$((RANDOM % 10))"
        done
      done
      # The same through the socket without vigilctl (the probe sends the request itself): the
      # daemon's part, without a client program's start.
      for drain in $(seq "$DRAINS"); do
        for step in drain ready; do
          want=0
          [ "$step" = ready ] && want=$weight
          line=$(ip netns exec "$ns" vigil-ipvs-bench-probe post "$TIMEOUT" \
            "/run/vigil/vigild_$ns.sock" "$WATCH_VIP" "$WATCH_RIP" "$want" \
            "{\"action\": \"$step\", \"virtual_server\": \"$WATCH_VIP\", \"real_server\": \"$WATCH_RIP\", \"reason\": \"bench\"}")
          report "daemon=$daemon rep=$rep phase=${step}_socket n=$drain $line"
          case $line in result=ok*) ;; *) failures=$((failures + 1)) ;; esac
          sleep "0.$((RANDOM % 10))"
        done
      done
      # vigild's own time for each (request in -> IPVS applied and state saved), from its log.
      sed -n 's/.*\[control\] \(drain\|ready\) .* (in \([0-9.]*\) ms)$/\1 \2/p' "$log" |
        while read -r step took; do
          report "daemon=$daemon rep=$rep phase=${step}_inside result=ok took_ms=$took"
        done
      rm -f "/var/lib/vigil/state_$ns.conf"
    fi
    echo "--- $daemon log (rep $rep), last lines"
    tail -n 8 "$log"
    kill_namespace "$ns"
  done
done
report "phase=end failures=$failures loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
exit $((failures > 0))
