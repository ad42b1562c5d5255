# vigild's FULLNAT: a `lvs_method FULLNAT` service is IPVS NAT plus vigild's nftables table
# `inet vigil_fullnat` masquerading what IPVS forwards to the real servers. Real servers without
# any route back to the client still serve; rr splits 10 requests 5/5. The periodic resync
# (10 s) restores the table when it is deleted or emptied behind vigild's back. SIGTERM removes
# the service and the table; after a SIGKILL, a vigild started on a config without FULLNAT
# removes the table the killed one left.
# vigil-timeout: 200
. /tests/lib.sh
. /tests/vigild_lib.bash

nat_topology
for rs in r1 r2; do ip -n "$rs" route del default; done
cat >/tmp/vigild-fullnat.conf <<'CONF'
virtual_server 10.0.1.100 80 {
    lvs_sched rr
    lvs_method FULLNAT
    protocol TCP
    real_server 10.0.2.11 80 {
        weight 1
    }
    real_server 10.0.2.12 80 {
        weight 1
    }
}
CONF
# The same service as plain NAT: no FULLNAT table wanted.
sed 's/FULLNAT/NAT/' /tmp/vigild-fullnat.conf >/tmp/vigild-fullnat-nat.conf
nft_table() { ip netns exec director nft list table inet vigil_fullnat 2>/dev/null; }
# wait_nft_table present|absent SECONDS
wait_nft_table() {
  local deadline=$(($(date +%s) + $2))
  while [ "$(date +%s)" -le $deadline ]; do
    if [ "$1" = present ]; then nft_table >/dev/null && return 0; else nft_table >/dev/null || return 0; fi
    sleep 0.2
  done
  return 1
}
# masquerade rules in the table now
rules() { nft_table | grep -c 'masquerade'; }

start_vigild fullnat /tmp/vigild-fullnat.conf director
want="-A -t 10.0.1.100:80 -s rr
-a -t 10.0.1.100:80 -r 10.0.2.11:80 -m -w 1
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 1"
wait_table director "$(echo "$want" | LC_ALL=C sort)" 15 ||
  { show_log fullnat; fail "FULLNAT table: $(table director)"; }
wait_nft_table present 5 || { show_log fullnat; fail "no table inet vigil_fullnat"; }
nft_table
expect_eq "masquerade rules" 2 "$(rules)"
expect_eq "net.ipv4.vs.conntrack" 1 "$(ip netns exec director sysctl -n net.ipv4.vs.conntrack)"
expect_split client http://10.0.1.100/ 10 "5 5"

# Deleted behind vigild's back: restored by the next resync (every 10 s), and it serves again.
ip netns exec director nft delete table inet vigil_fullnat || fail "nft delete table"
start=$(date +%s)
wait_nft_table present 15 || { show_log fullnat; fail "table not restored within 15 s"; }
echo "deleted table restored after about $(($(date +%s) - start)) s"
expect_eq "masquerade rules after the restore" 2 "$(rules)"
expect_split client http://10.0.1.100/ 10 "5 5"

echo "emptying the table"
# Emptied behind its back (the table stays, its rules go): restored too.
ip netns exec director nft flush chain inet vigil_fullnat postrouting || fail "nft flush chain"
start=$(date +%s)
while [ $(($(date +%s) - start)) -lt 15 ] && [ "$(rules)" != 2 ]; do sleep 0.5; done
expect_eq "rules restored within 15 s" 2 "$(rules)"
echo "emptied table restored after about $(($(date +%s) - start)) s"
grep -q 'FULLNAT table inet vigil_fullnat was changed behind' /tmp/vigild-fullnat.log ||
  { show_log fullnat; fail "the repair of the emptied table is not logged"; }

echo "stopping vigild"
wait_sigterm_handled "$vigild_pid"
stop_pid "$vigild_pid" TERM 10
[ -z "$(table director)" ] || { show_log fullnat; fail "FULLNAT service left after SIGTERM"; }
if nft_table >/dev/null; then
  show_log fullnat
  fail "table inet vigil_fullnat left after SIGTERM"
fi

# SIGKILL leaves the table; the next vigild, on a config without FULLNAT, removes it at start
# and programs the service as plain NAT (the same key: adopted, not re-created).
echo "starting vigild again"
start_vigild fullnat /tmp/vigild-fullnat.conf director
wait_nft_table present 15 || { show_log fullnat; fail "no table after the second start"; }
stop_pid "$vigild_pid" KILL 5
nft_table >/dev/null || fail "the table went with SIGKILL"
echo "starting vigild without FULLNAT"
start_vigild fullnat-nat /tmp/vigild-fullnat-nat.conf director
wait_nft_table absent 10 || { show_log fullnat-nat; fail "stale table inet vigil_fullnat kept"; }
expect_eq "table of the NAT config" "$(echo "$want" | LC_ALL=C sort)" "$(table director)"
wait_sigterm_handled "$vigild_pid"
# Without vigild's source NAT the real servers cannot answer: the NAT was what served.
[ "$(fetch_many client http://10.0.1.100/ 1)" = ERROR ] || fail "plain NAT must not get an answer"
stop_pid "$vigild_pid" TERM 10
[ -z "$(table director)" ] || fail "service left after SIGTERM"
