# The IPVS ownership state is never read or written through a symbolic link (issue 11; the
# security suite cannot cover it: the build machines' kernel has no IPVS). Its path is in a
# sticky world-writable directory holding a link by nobody, then one by root, aimed at a canary:
# the start ignores the link's state ("is a symbolic link: not read"), the first save replaces
# the link with a root-owned 0600 file (warning logged), and the canary keeps its bytes. With
# `instance` set and no --ipvs-state-file the state goes to /run/vigil/ipvs-owned_INST.conf.
# vigil-timeout: 120
. /tests/lib.sh
. /tests/vigild_lib.bash

dir=$(mktemp -d /tmp/vigild-state-link.XXXXXX)
chmod 1777 "$dir"
canary=/tmp/vigild-state-canary
cat >"$canary" <<'TEXT'
version = 1;
network_namespace = 0L;
services = ( { protocol = "TCP"; address = "10.0.0.77"; port = 80; } );
TEXT
chmod 0640 "$canary"
canary_text=$(cat "$canary")
config=/tmp/vigild-state-link.conf
cat >"$config" <<CONF
virtual_server 10.0.0.1 80 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.11 8080 {
        weight 1
    }
}
CONF
want="-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.2.11:8080 -m -w 1"

for owner in 65534 0; do
  state=$dir/owned-$owner.conf
  ln -s "$canary" "$state"
  chown -h "$owner:$owner" "$state"
  name=state-link-$owner
  start_vigild "$name" "$config" - --ipvs-state-file "$state"
  wait_table - "$want" 15 || { show_log "$name"; expect_eq "table ($owner's link)" "$want" "$(table -)"; }
  i=0
  while [ $i -lt 50 ] && [ -L "$state" ]; do sleep 0.1; i=$((i + 1)); done
  [ -L "$state" ] && { show_log "$name"; fail "the link by uid $owner is still there"; }
  expect_eq "state file by uid $owner's link: type, mode, owner" "regular file 600 0" \
    "$(stat -c '%F %a %u' "$state")"
  grep -q '"10.0.0.1"' "$state" || fail "the new state does not name 10.0.0.1: $(cat "$state")"
  grep -q "ignoring the ownership state: $state is a symbolic link: not read" \
    "/tmp/vigild-$name.log" || { show_log "$name"; fail "the link's state was not refused"; }
  grep -q "$state was a symbolic link: replaced with a new file (its target is untouched)" \
    "/tmp/vigild-$name.log" || { show_log "$name"; fail "the replaced link is not logged"; }
  expect_eq "canary after uid $owner's link" "$canary_text" "$(cat "$canary")"
  wait_sigterm_handled "$vigild_pid"
  stop_pid "$vigild_pid" TERM 10
  expect_eq "canary after the stop" "$canary_text" "$(cat "$canary")"
  expect_eq "table after SIGTERM" "" "$(table -)"
done

# The default name carries `instance`.
{ echo "instance vmsec"; cat "$config"; } >/tmp/vigild-state-inst.conf
rm -f /run/vigil/ipvs-owned_vmsec.conf
start_vigild state-inst /tmp/vigild-state-inst.conf -
wait_table - "$want" 15 || { show_log state-inst; expect_eq "table (instance)" "$want" "$(table -)"; }
i=0
while [ $i -lt 50 ] && ! [ -f /run/vigil/ipvs-owned_vmsec.conf ]; do sleep 0.1; i=$((i + 1)); done
expect_eq "the instance's state file" "regular file 600 0" \
  "$(stat -c '%F %a %u' /run/vigil/ipvs-owned_vmsec.conf 2>&1)"
wait_sigterm_handled "$vigild_pid"
stop_pid "$vigild_pid" TERM 10
rm -f /run/vigil/ipvs-owned_vmsec.conf
rm -rf "$dir" "$canary"
true
