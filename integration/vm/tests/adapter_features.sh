# Every feature the adapter programs (golden/features.rules: TCP, UDP, SCTP, fwmark, IPv4,
# IPv6, mixed family, NAT/DR/TUN with ipip/gue/gre and checksum flags, scheduler flags, ops,
# persistence with netmask, the sip persistence engine, weights, thresholds), checked with
# ipvsadm: `ipvsadm -Sn` equals the golden file, and the adapter's own dump, fed to
# `ipvsadm -R` in a fresh namespace, reads back identically.
. /tests/lib.sh

# The reference: ipvsadm itself programs the same rules in another namespace.
new_ns reference
grep -v '^#' /golden/features.rules | ip netns exec reference ipvsadm -R || fail "ipvsadm -R"

vigil-ipvs-probe info || fail "info"
vigil-ipvs-probe apply /golden/features.rules || fail "apply"
expect_sorted_eq "ipvsadm -Sn after the adapter's apply" /golden/features.expected \
  "$(ipvsadm -Sn)"
expect_eq "ipvsadm -Sn: adapter and ipvsadm program the same table" \
  "$(ip netns exec reference ipvsadm -Sn | LC_ALL=C sort)" "$(ipvsadm -Sn | LC_ALL=C sort)"
# ipvsadm -S leaves thresholds out: they are checked in the listing.
thresholds=$(ipvsadm -Ln --thresholds)
expect_eq "thresholds: adapter and ipvsadm" "$(ip netns exec reference ipvsadm -Ln --thresholds)" \
  "$thresholds"
echo "$thresholds" | grep -Eq -- '-> 192\.168\.1\.2:8080 +1000 +100 ' || fail "thresholds 1000/100"
echo "$thresholds" | grep -Eq -- '-> \[2001:db8:1::2\]:80 +50 +0 ' || fail "threshold 50"

# The adapter's dump, in rules syntax, replayed by ipvsadm elsewhere.
vigil-ipvs-probe dump >/tmp/dump.rules || fail "dump"
cat /tmp/dump.rules
new_ns replay
ip netns exec replay ipvsadm -R </tmp/dump.rules || fail "ipvsadm -R of the dump"
expect_sorted_eq "ipvsadm -Sn of the replayed dump" /golden/features.expected \
  "$(ip netns exec replay ipvsadm -Sn)"
expect_eq "thresholds of the replayed dump" "$thresholds" \
  "$(ip netns exec replay ipvsadm -Ln --thresholds)"
