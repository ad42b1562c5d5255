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

# A tenth of the table (230 services x 16) through ipvsadm -R, which sends one request at a
# time and waits for each ACK as keepalived does: a comparison under the same emulation (the
# whole table takes ipvsadm minutes here).
ipvsadm -C
tenth=$(echo "$saved" | awk '/^-A/ { services++ } services <= 230')
start=$(date +%s)
echo "$tenth" | ipvsadm -R || fail "ipvsadm -R"
echo "ipvsadm -R of 230 services x 16 dests: $(($(date +%s) - start)) s"
[ "$(ipvsadm -Sn | grep -c '^-a')" = 3680 ] || fail "ipvsadm -R restored 3680 destinations"
