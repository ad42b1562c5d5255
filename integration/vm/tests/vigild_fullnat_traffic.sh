# vigild's FULLNAT: a `lvs_method FULLNAT` service is IPVS NAT plus vigild's nftables table
# vigil_fullnat masquerading what IPVS forwards to the real servers. Real servers without any
# route back to the client still serve; rr splits 10 requests 5/5. SIGTERM removes the service
# and the table.
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
start_vigild fullnat /tmp/vigild-fullnat.conf director
want="-A -t 10.0.1.100:80 -s rr
-a -t 10.0.1.100:80 -r 10.0.2.11:80 -m -w 1
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 1"
wait_table director "$(echo "$want" | LC_ALL=C sort)" 15 ||
  { show_log fullnat; fail "FULLNAT table: $(table director)"; }
i=0
while [ $i -lt 50 ] && ! ip netns exec director nft list table ip vigil_fullnat >/dev/null 2>&1; do
  sleep 0.1
  i=$((i + 1))
done
ip netns exec director nft list table ip vigil_fullnat || { show_log fullnat; fail "no table ip vigil_fullnat"; }
expect_eq "net.ipv4.vs.conntrack" 1 "$(ip netns exec director sysctl -n net.ipv4.vs.conntrack)"
expect_split client http://10.0.1.100/ 10 "5 5"
stop_pid "$vigild_pid" TERM 10
[ -z "$(table director)" ] || fail "FULLNAT service left after SIGTERM"
if ip netns exec director nft list table ip vigil_fullnat >/dev/null 2>&1; then
  show_log fullnat
  fail "table ip vigil_fullnat left after SIGTERM"
fi
# Without vigild's source NAT the real servers cannot answer: the NAT was what served.
ip netns exec director ipvsadm -A -t 10.0.1.100:80 -s rr
ip netns exec director ipvsadm -a -t 10.0.1.100:80 -r 10.0.2.11:80 -m
[ "$(fetch_many client http://10.0.1.100/ 1)" = ERROR ] || fail "plain NAT must not get an answer"
