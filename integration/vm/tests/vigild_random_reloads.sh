# Randomized reloads on a kernel with IPVS: a seeded sequence of random edits of a configuration
# with several virtual servers (virtual and real servers added and removed, weights, lvs_sched,
# persistence_timeout, lvs_method, inhibit_on_failure), each planned with `vigilctl reload
# --dry-run --json` and then applied with `vigilctl reload --wait`. For every edit:
#   - the dry run changes nothing: ipvsadm -Sn after it is the table the previous reload left
#     (so nothing else changed it either), and no IPVS pass ran;
#   - the reload changes the table by exactly the plan's IPVS operations (the plan turned into
#     the ipvsadm -S lines it removes and adds = the difference of ipvsadm -Sn before and after),
#     in one pass of as many operations, and nothing changes after it until the next edit;
#   - the table is the one the configuration describes (an independent model of it), so a real
#     server whose TCP_CHECK fails (nothing listens there; `alpha`: down from its start) is never
#     in IPVS with a weight above 0 (weight 0 with inhibit_on_failure, absent without);
#   - VI_1, a VRRP instance no edit touches, is not in the plan, logs no transition, and ends
#     as MASTER having become MASTER once and released it never.
# The seed is printed; `integration/vm/run -k vigil.seed=N -T vigild_random_reloads ...` replays
# a run (default seed 14; vigil.reload_steps=N changes the number of edits, default 25).
# vigil-timeout: 150
. /tests/lib.sh
. /tests/vigild_lib.bash

seed=$(sed -n 's/.*vigil\.seed=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
seed=${seed:-14}
steps=$(sed -n 's/.*vigil\.reload_steps=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
steps=${steps:-25}
echo "random reloads: seed $seed, $steps edits (replay: run -k vigil.seed=$seed)"
RANDOM=$seed
# rnd N: r is a random number in [0, N). (Never in a subshell: it would not advance RANDOM.)
rnd() { r=$((RANDOM % $1)); }

new_ns director
new_ns peer
veth_pair director eth0 10.0.9.1/24 peer eth0 10.0.9.2/24
# The "up" real servers' TCP_CHECK connects here; the failed ones' to port 9, where nothing listens.
mkdir -p /tmp/rr-www
echo up >/tmp/rr-www/index.html
spawn nsenter --net=/run/netns/director httpd -f -p 127.0.0.1:8080 -h /tmp/rr-www
wait_tcp director 127.0.0.1 8080

# The model. Virtual server v (0..3) is 10.0.1.10v:80; its real server slot s (1..5) is
# 10.0.2.1s:80: slots 1-2 have no checker, 3 a TCP_CHECK that passes, 4-5 one that fails.
nvs=4
scheds=(rr wrr lc wlc sed)
declare -a vs_on vs_sched vs_persist vs_method rs_on rs_weight rs_inhibit
kinds=([1]=plain [2]=plain [3]=up [4]=down [5]=down)  # (no subshells: they are slow in the VM)
rs_random() {  # rs_random V S: slot S of V on, with a random weight and inhibit_on_failure
  local k=$(($1 * 10 + $2))
  rs_on[k]=1
  rnd 5; rs_weight[k]=$((r + 1))
  rnd 2; rs_inhibit[k]=$r
}
vs_random() {  # vs_random V: V on, random settings, a random non-empty set of real servers
  local v=$1 s any=0
  vs_on[v]=1
  rnd ${#scheds[@]}; vs_sched[v]=${scheds[r]}
  rnd 3; vs_persist[v]=$((r * 300))
  rnd 3; if [ $r -eq 0 ]; then vs_method[v]=DR; else vs_method[v]=NAT; fi
  for s in 1 2 3 4 5; do
    rs_on[v * 10 + s]=0
    rnd 5
    if [ $r -lt 3 ]; then rs_random "$v" "$s"; any=1; fi
  done
  if [ $any -eq 0 ]; then rnd 5; rs_random "$v" $((r + 1)); fi
}
for v in 0 1 2; do vs_random $v; done
vs_on[3]=0

config=/tmp/vigild-rr.conf
write_config() {  # write_config STEP
  local v s k
  {
    echo "# random reloads: seed $seed, step $1"
    echo "vrrp_instance VI_1 {"
    echo "  state BACKUP"
    echo "  interface eth0"
    echo "  virtual_router_id 51"
    echo "  priority 150"
    echo "  advert_int 1"
    echo "  virtual_ipaddress {"
    echo "    10.0.9.100/32"
    echo "  }"
    echo "}"
    for v in 0 1 2 3; do
      [ "${vs_on[v]}" = 1 ] || continue
      echo "virtual_server 10.0.1.10$v 80 {"
      echo "  delay_loop 3"
      echo "  lvs_sched ${vs_sched[v]}"
      echo "  lvs_method ${vs_method[v]}"
      echo "  protocol TCP"
      [ "${vs_persist[v]}" -gt 0 ] && echo "  persistence_timeout ${vs_persist[v]}"
      for s in 1 2 3 4 5; do
        k=$((v * 10 + s))
        [ "${rs_on[k]}" = 1 ] || continue
        echo "  real_server 10.0.2.1$s 80 {"
        echo "    weight ${rs_weight[k]}"
        [ "${rs_inhibit[k]}" = 1 ] && echo "    inhibit_on_failure"
        case ${kinds[s]} in
          up) echo "    TCP_CHECK {"
              echo "      connect_ip 127.0.0.1"
              echo "      connect_port 8080"
              echo "      connect_timeout 3"
              echo "    }" ;;
          down) echo "    alpha"
                echo "    TCP_CHECK {"
                echo "      connect_ip 127.0.0.1"
                echo "      connect_port 9"
                echo "      connect_timeout 1"
                echo "    }" ;;
        esac
        echo "  }"
      done
      echo "}"
    done
  } >"$config"
}

# model_table: the sorted ipvsadm -Sn the model describes (a failed real server: weight 0 with
# inhibit_on_failure, absent without).
model_table() {
  local v s k flag
  for v in 0 1 2 3; do
    [ "${vs_on[v]}" = 1 ] || continue
    if [ "${vs_persist[v]}" -gt 0 ]; then
      echo "-A -t 10.0.1.10$v:80 -s ${vs_sched[v]} -p ${vs_persist[v]}"
    else
      echo "-A -t 10.0.1.10$v:80 -s ${vs_sched[v]}"
    fi
    if [ "${vs_method[v]}" = DR ]; then flag=-g; else flag=-m; fi
    for s in 1 2 3 4 5; do
      k=$((v * 10 + s))
      [ "${rs_on[k]}" = 1 ] || continue
      if [ "${kinds[s]}" != down ]; then
        echo "-a -t 10.0.1.10$v:80 -r 10.0.2.1$s:80 $flag -w ${rs_weight[k]}"
      elif [ "${rs_inhibit[k]}" = 1 ]; then
        echo "-a -t 10.0.1.10$v:80 -r 10.0.2.1$s:80 $flag -w 0"
      fi
    done
  done | LC_ALL=C sort
}

# One random edit of the model; describes itself in `edit`.
# vs_count, rs_count V: how many virtual servers (of V real servers) are on, in `count`.
vs_count() { local v; count=0; for v in 0 1 2 3; do [ "${vs_on[v]}" = 1 ] && count=$((count + 1)); done; }
rs_count() { local s; count=0; for s in 1 2 3 4 5; do [ "${rs_on[$1 * 10 + s]}" = 1 ] && count=$((count + 1)); done; }
pick_vs() {  # pick_vs ON: v = a random virtual server that is on (1) or off (0); 1 if none
  local tries=0
  while [ $tries -lt 20 ]; do
    rnd $nvs; v=$r
    [ "${vs_on[v]:-0}" = "$1" ] && return 0
    tries=$((tries + 1))
  done
  return 1
}
pick_rs() {  # pick_rs V ON: s = a random slot of V that is on (1) or off (0); 1 if none
  local tries=0
  while [ $tries -lt 20 ]; do
    rnd 5; s=$((r + 1))
    [ "${rs_on[$1 * 10 + s]:-0}" = "$2" ] && return 0
    tries=$((tries + 1))
  done
  return 1
}
edit_once() {
  local k
  while :; do
    rnd 10
    case $r in
      0) pick_vs 0 || continue
         vs_random "$v"; edit="$edit, add vs $v"; return ;;
      1) vs_count; [ $count -gt 1 ] || continue
         pick_vs 1 || continue
         vs_on[v]=0; edit="$edit, remove vs $v"; return ;;
      2) pick_vs 1 || continue
         pick_rs "$v" 0 || continue
         rs_random "$v" "$s"; edit="$edit, add rs $v.$s (${kinds[s]})"; return ;;
      3) pick_vs 1 || continue
         rs_count "$v"; [ $count -gt 1 ] || continue
         pick_rs "$v" 1 || continue
         rs_on[v * 10 + s]=0; edit="$edit, remove rs $v.$s (${kinds[s]})"; return ;;
      4 | 5) pick_vs 1 || continue
         pick_rs "$v" 1 || continue
         k=$((v * 10 + s))
         rnd 5; [ $((r + 1)) -eq "${rs_weight[k]}" ] && continue
         rs_weight[k]=$((r + 1)); edit="$edit, weight rs $v.$s (${kinds[s]}) ${rs_weight[k]}"; return ;;
      6) pick_vs 1 || continue
         rnd ${#scheds[@]}; [ "${scheds[r]}" = "${vs_sched[v]}" ] && continue
         vs_sched[v]=${scheds[r]}; edit="$edit, lvs_sched vs $v ${vs_sched[v]}"; return ;;
      7) pick_vs 1 || continue
         rnd 3; [ $((r * 300)) -eq "${vs_persist[v]}" ] && continue
         vs_persist[v]=$((r * 300)); edit="$edit, persistence_timeout vs $v ${vs_persist[v]}"; return ;;
      8) pick_vs 1 || continue
         if [ "${vs_method[v]}" = DR ]; then vs_method[v]=NAT; else vs_method[v]=DR; fi
         edit="$edit, lvs_method vs $v ${vs_method[v]}"; return ;;
      9) pick_vs 1 || continue
         pick_rs "$v" 1 || continue
         k=$((v * 10 + s))
         rs_inhibit[k]=$((1 - rs_inhibit[k]))
         edit="$edit, inhibit_on_failure rs $v.$s (${kinds[s]}) ${rs_inhibit[k]}"; return ;;
    esac
  done
}

# judge PLAN_JSON BEFORE AFTER: compares the plan (vigil-plan/1, pretty-printed by vigilctl: one
# field a line, no escapes in these) with what the reload did. Its IPVS changes become the
# ipvsadm -S lines they remove ("- LINE") and add ("+ LINE"); the difference of the tables BEFORE
# and AFTER must be those lines, no more, no fewer. Prints "schema S", "changes N", "ipvs N",
# "outside AREA ACTION SUBJECT" for a change neither IPVS nor checkers, "names VI_1", and
# "mismatch" followed by both sides when they differ. One awk: each process costs in the VM.
judge() {
  awk '
    function flag(method) {
      return method == "masq" ? "-m" : method == "route" ? "-g" : method == "tunnel" ? "-i" : "?" method
    }
    function service_args(detail,    t, n, i, out, v) {  # "sched rr persistent 300s netmask /32"
      n = split(detail, t, " ")
      out = ""
      for (i = 1; i <= n; i++) {
        if (t[i] == "sched") { out = out " -s " t[++i] }
        else if (t[i] == "persistent") { v = t[++i]; sub(/s$/, "", v); out = out " -p " v }
        else if (t[i] == "netmask") { if (t[++i] != "/32") out = out " ?netmask" t[i] }
        else out = out " ?" t[i]
      }
      return substr(out, 2)
    }
    function expect(line) { expected[line]++ }
    function removes_prefix(prefix,    j) {
      for (j = 1; j <= nb; j++) if (index(before_line[j], prefix) == 1) expect("- " before_line[j])
    }
    FILENAME == ARGV[1] {
      if ($0 ~ /^  "schema": /) { v = $0; sub(/^  "schema": "/, "", v); sub(/",?$/, "", v); print "schema " v }
      if ($0 ~ /VI_1/) print "names VI_1"
      if ($0 ~ /^  "changes": \[/) { on = 1; next }
      if (on && $0 ~ /^  \]/) on = 0
      if (!on) next
      if ($0 ~ /^      "[a-z]*": "/) {
        key = $0; sub(/^      "/, "", key); sub(/".*/, "", key)
        v = $0; sub(/^      "[a-z]*": "/, "", v); sub(/",?$/, "", v)
        f[key] = v
      }
      if ($0 ~ /^    }/) {
        n++; area[n] = f["area"]; action[n] = f["action"]; subject[n] = f["subject"]; detail[n] = f["detail"]
        delete f
      }
      next
    }
    FILENAME == ARGV[2] { before[$0] = 1; before_line[++nb] = $0; next }
    { after[$0] = 1; after_line[++na] = $0 }
    END {
      ops = 0
      for (i = 1; i <= n; i++) {
        a = action[i]; s = subject[i]; d = detail[i]
        if (area[i] != "ipvs") {
          if (area[i] != "checker") print "outside " area[i] " " a " " s
          continue
        }
        ops++
        if (s ~ /^service TCP /) {
          vs = substr(s, 13)
          if (a == "add") expect("+ -A -t " vs " " service_args(d))
          else if (a == "change") {
            removes_prefix("-A -t " vs " ")
            sub(/^.* -> /, "", d)
            expect("+ -A -t " vs " " service_args(d))
          } else { removes_prefix("-A -t " vs " "); removes_prefix("-a -t " vs " ") }
        } else if (s ~ /^dest TCP /) {
          rest = substr(s, 10); p = index(rest, " -> ")
          prefix = "-a -t " substr(rest, 1, p - 1) " -r " substr(rest, p + 4) " "
          old = "?not in the table: " s
          for (j = 1; j <= nb; j++) if (index(before_line[j], prefix) == 1) old = before_line[j]
          if (a == "add") {
            split(d, w, " ")
            if (d ~ /^[a-z]+ weight [0-9]+$/) expect("+ " prefix flag(w[1]) " -w " w[3])
            else expect("+ ?detail " s ": " d)
          } else if (a == "change") {
            expect("- " old)
            line = old
            m = split(d, parts, ", ")
            for (k = 1; k <= m; k++) {
              split(parts[k], w, " ")
              if (parts[k] ~ /^weight [0-9]+ -> [0-9]+$/) {
                if (line !~ (" -w " w[2] "$")) line = line " ?weight-was-" w[2]
                sub(/ -w [0-9]+$/, " -w " w[4], line)
              } else if (parts[k] ~ /^[a-z]+ -> [a-z]+$/) {
                sub(" " flag(w[1]) " ", " " flag(w[3]) " ", line)
              } else line = line " ?" parts[k]
            }
            expect("+ " line)
          } else expect("- " old)
        } else expect("+ ?subject " s)
      }
      print "changes " n + 0
      print "ipvs " ops
      for (j = 1; j <= nb; j++) if (!(before_line[j] in after)) actual["- " before_line[j]]++
      for (j = 1; j <= na; j++) if (!(after_line[j] in before)) actual["+ " after_line[j]]++
      bad = 0
      for (k in expected) if (expected[k] != actual[k]) bad = 1
      for (k in actual) if (!(k in expected)) bad = 1
      if (bad) {
        print "mismatch"
        for (k in expected) print "planned " k
        for (k in actual) print "done    " k
      }
    }
  ' "$1" "$2" "$3"
}

dtable() { nsenter --net=/run/netns/director ipvsadm -Sn | LC_ALL=C sort; }
log=/tmp/vigild-rr.log
passes() { grep -c '\[ipvs\] applied' "$log"; }
# vi_1: VI_1's state and transition counters ("MASTER 1 0": state, became_master, released_master).
vi_1() {
  local json out="" field
  json=$(vigilctl -s director vrrp stats VI_1 --json | tr -d ' \n')
  for field in state became_master released_master; do
    if [[ $json =~ \"$field\":\"?([A-Z0-9]+) ]]; then out="$out ${BASH_REMATCH[1]}"; else out="$out ?"; fi
  done
  echo "${out# }"
}

write_config 0
spawn ip netns exec director vigild -n -l -f "$config" -p /tmp/vigild-rr.pid >>"$log" 2>&1
vigild_pid=$!
model_table >/tmp/rr-model
wait_table director "$(cat /tmp/rr-model)" 20 \
  || { show_log rr; expect_eq "the first table" "$(cat /tmp/rr-model)" "$(table director)"; }
i=0
until [ "$(vi_1)" = "MASTER 1 0" ]; do
  i=$((i + 1))
  [ $i -lt 50 ] || { show_log rr; vigilctl -s director vrrp VI_1; fail "VI_1 is not MASTER after 10 s"; }
  sleep 0.2
done
echo "VI_1 is MASTER; first table:"
cat /tmp/rr-model

# Where the time goes (centiseconds): the dry runs, the reloads, the rest.
clock() { local up; read -r up _ </proc/uptime; now_cs=$((${up%.*}${up#*.})); }
t_dry=0 t_reload=0
clock
t_start=$now_cs

# slurp VAR FILE: FILE's text in VAR, without a process.
slurp() { IFS= read -r -d '' "$1" <"$2"; }
after='' before='' planned='' model='' applied=''
# passes_since N: the vigild log's "[ipvs] applied ..." lines after the first N, then "total M"
# and "vi_1 T", T the number of VI_1's transitions logged.
passes_since() {
  awk -v from="$1" '/\[ipvs\] applied/ { if (++n > from) { sub(/.*\[ipvs\] /, ""); print } }
                    /\[VI_1\] [A-Z]+ -> / { t++ }
                    END { print "total " n + 0; print "vi_1 " t + 0 }' "$log"
}
passes_since 0 >/tmp/rr-passes
seen=$(sed -n 's/^total //p' /tmp/rr-passes)
vi_1_transitions=$(sed -n 's/^vi_1 //p' /tmp/rr-passes)

dtable >/tmp/rr-after
for step in $(seq 1 "$steps"); do
  edit=
  rnd 3
  n=$((r + 1))
  while [ "$n" -gt 0 ]; do edit_once; n=$((n - 1)); done
  edit=${edit#, }
  why="seed $seed, step $step ($edit)"
  write_config "$step"
  clock; t0=$now_cs
  vigilctl -s director reload --dry-run --json >/tmp/rr-plan.json
  rc=$?
  clock; t_dry=$((t_dry + now_cs - t0))
  # The table is as the last reload left it: neither the dry run nor anything since (a checker's
  # verdict, the periodic repair) changed it; and no IPVS pass ran meanwhile (checked below).
  dtable >/tmp/rr-planned
  slurp before /tmp/rr-after
  slurp planned /tmp/rr-planned
  expect_eq "$why: the table changed after the previous reload or in the dry run" "$before" "$planned"

  clock; t0=$now_cs
  vigilctl -s director reload --wait --reason "step $step" >/tmp/rr-reload.txt 2>&1 \
    || { cat /tmp/rr-reload.txt; show_log rr; fail "$why: reload"; }
  clock; t_reload=$((t_reload + now_cs - t0))
  dtable >/tmp/rr-after
  judge /tmp/rr-plan.json /tmp/rr-planned /tmp/rr-after >/tmp/rr-judge
  passes_since "$seen" >/tmp/rr-passes
  model_table >/tmp/rr-model

  schema='' changes='' ipvs_ops='' outside='' names='' mismatch=''
  while read -r word rest; do
    case $word in
      schema) schema=$rest ;;
      changes) changes=$rest ;;
      ipvs) ipvs_ops=$rest ;;
      outside) outside="$outside; $rest" ;;
      names) names=yes ;;
      mismatch) mismatch=yes ;;
    esac
  done </tmp/rr-judge
  echo "step $step: $edit: $ipvs_ops IPVS operation(s), $((changes - ipvs_ops)) other change(s)"
  [ "$schema" = vigil-plan/1 ] || { cat /tmp/rr-plan.json; fail "$why: plan schema '$schema'"; }
  if [ "$changes" -gt 0 ]; then want_rc=7; else want_rc=0; fi
  [ $rc -eq $want_rc ] || { cat /tmp/rr-plan.json; fail "$why: dry run exit $rc, expected $want_rc"; }
  [ -z "$outside" ] || { cat /tmp/rr-plan.json; fail "$why: changes outside IPVS and checkers${outside}"; }
  [ -z "$names" ] || { cat /tmp/rr-plan.json; fail "$why: the plan names VI_1, which no edit touches"; }
  if [ -n "$mismatch" ]; then
    echo "--- plan"
    cat /tmp/rr-plan.json
    echo "--- table before"
    cat /tmp/rr-planned
    echo "--- IPVS changes planned and done (as ipvsadm -S lines)"
    grep -e '^planned' -e '^done' /tmp/rr-judge | LC_ALL=C sort
    fail "$why: the reload's changes are not the plan's"
  fi
  # One pass of exactly the plan's operations (none when it plans none), since the last step:
  # none for the dry run, none after the reload.
  if [ "$ipvs_ops" -gt 0 ]; then
    want="applied $ipvs_ops operation$([ "$ipvs_ops" -eq 1 ] || echo s) (0 failed)"
  else
    want=
  fi
  slurp applied /tmp/rr-passes
  [[ $applied =~ total\ ([0-9]+).vi_1\ ([0-9]+) ]] || fail "$why: cannot read the log: $applied"
  seen=${BASH_REMATCH[1]}
  [ "${BASH_REMATCH[2]}" = "$vi_1_transitions" ] \
    || { show_log rr; fail "$why: VI_1 transitioned (VI_1 is never edited)"; }
  applied=${applied%total *}
  expect_eq "$why: the IPVS passes since the last step" "$want" "${applied%$'\n'}"
  slurp model /tmp/rr-model
  slurp after /tmp/rr-after
  expect_eq "$why: the table is not the configuration's (failed real servers: weight 0 or absent)" \
    "$model" "$after"
done
clock
echo "time (s): dry runs $((t_dry / 100)), reloads $((t_reload / 100)), the rest $(((now_cs - t_start - t_dry - t_reload) / 100))"
now=$(vi_1)
[ "$now" = "MASTER 1 0" ] || fail "seed $seed: VI_1 transitioned: state, became / released master: '$now'"

# Settled: nothing changed after the last reload, and a dry run finds nothing to do.
sleep 1
expect_eq "seed $seed: the table changed after the last reload" "$(cat /tmp/rr-after)" "$(dtable)"
vigilctl -s director reload --dry-run >/tmp/rr-last.txt
rc=$?
[ $rc -eq 0 ] || { cat /tmp/rr-last.txt; fail "seed $seed: dry run after the last reload: exit $rc"; }
alive "$vigild_pid" || { show_log rr; fail "vigild died"; }
stop_pid "$vigild_pid" TERM 10
echo "seed $seed: $steps random reloads as planned"
