# Without IPVS the adapter says what to do, and fails. The genl lookup of "IPVS" makes the
# kernel autoload ip_vs, so module loading is switched off for the duration of the test (this
# runs before /init loads ip_vs).
. /tests/lib.sh

[ -e /proc/net/ip_vs ] && fail "ip_vs is already loaded: this test must run first"
previous=$(cat /proc/sys/kernel/modprobe)
echo /bin/false >/proc/sys/kernel/modprobe
output=$(vigil-ipvs-probe info 2>&1)
status=$?
echo "$previous" >/proc/sys/kernel/modprobe
echo "$output"
[ $status -ne 0 ] || fail "info must fail without IPVS"
echo "$output" | grep -q 'IPVS is not available in this kernel: load the ip_vs module' ||
  fail "the error must say to load ip_vs"
