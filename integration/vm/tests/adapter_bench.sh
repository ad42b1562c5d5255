# vigil-timeout: 300
# 2,300 services x 16 destinations through the pipelined adapter, then dumped back: times
# printed (absolute numbers under software emulation only compare with each other).
. /tests/lib.sh

vigil-ipvs-probe bench 2300 16 || fail "bench"
start=$(date +%s)
saved=$(ipvsadm -Sn)
echo "ipvsadm -Sn of the same table: $(($(date +%s) - start)) s"
[ "$(echo "$saved" | grep -c '^-A')" = 2300 ] || fail "ipvsadm sees 2300 services"
[ "$(echo "$saved" | grep -c '^-a')" = 36800 ] || fail "ipvsadm sees 36800 destinations"
