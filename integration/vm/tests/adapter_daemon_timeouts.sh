# Sync daemons (every attribute) and timeouts through the adapter, read back by ipvsadm and
# by the adapter itself.
. /tests/lib.sh

ip link add sync0 type dummy
ip link set sync0 multicast on up
vigil-ipvs-probe daemon-start master --mcast-interface sync0 --syncid 5 --sync-maxlen 1400 \
  --mcast-group 239.1.1.1 --mcast-port 9000 --mcast-ttl 3 || fail "start master"
vigil-ipvs-probe daemon-start backup --mcast-interface sync0 --syncid 6 || fail "start backup"
expect_sorted_eq "ipvsadm -L --daemon" /golden/daemons.expected "$(ipvsadm -L --daemon)"
expect_sorted_eq "the adapter's view of the daemons" /golden/daemons.expected \
  "$(vigil-ipvs-probe daemons)"
vigil-ipvs-probe daemon-stop backup || fail "stop backup"
expect_eq "daemons after stopping the backup" "$(grep '^master' /golden/daemons.expected)" \
  "$(ipvsadm -L --daemon)"
vigil-ipvs-probe daemon-stop backup && fail "stopping a stopped daemon must fail"

vigil-ipvs-probe timeouts-set 900 120 300 || fail "set timeouts"
expect_eq "ipvsadm -L --timeout" "Timeout (tcp tcpfin udp): 900 120 300" "$(ipvsadm -L --timeout)"
vigil-ipvs-probe timeouts-set 0 0 45 || fail "set udp timeout only"
expect_eq "zero leaves a timeout unchanged" "Timeout (tcp tcpfin udp): 900 120 45" \
  "$(vigil-ipvs-probe timeouts)"
