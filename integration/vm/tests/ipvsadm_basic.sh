# The kernel has IPVS and ipvsadm programs it: the test bed itself works.
. /tests/lib.sh

ipvsadm -A -t 10.0.0.1:80 -s rr || fail "ipvsadm -A"
ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3 || fail "ipvsadm -a"
ipvsadm -Ln
expect_eq "ipvsadm -Sn" "-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3" "$(ipvsadm -Sn)"
# Schedulers are modules the kernel autoloads through /sbin/modprobe.
ipvsadm -E -t 10.0.0.1:80 -s wlc || fail "autoload of ip_vs_wlc"
ipvsadm -Sn | grep -q -- '-s wlc' || fail "scheduler not changed"
