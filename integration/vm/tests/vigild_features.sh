# vigild programs every IPVS feature from a keepalived-syntax config (golden/features.conf):
# `ipvsadm -Sn` equals the golden table written by hand from that config, the thresholds it
# sets show in `ipvsadm -Ln --thresholds`, and SIGTERM removes every service.
# vigil-timeout: 120
. /tests/lib.sh
. /tests/vigild_lib.bash

vigild -t -f /golden/features.conf || fail "vigild -t rejects golden/features.conf"
[ -z "$(table -)" ] || fail "table not empty at start: $(table -)"
start_vigild features /golden/features.conf -
expected=$(golden_table /golden/features-vigild.expected)
if ! wait_table - "$expected" 20; then
  show_log features
  expect_eq "ipvsadm -Sn (sorted) of vigild on features.conf" "$expected" "$(table -)"
fi
echo "table as golden ($(echo "$expected" | grep -c '^-A') services," \
  "$(echo "$expected" | grep -c '^-a') real servers)"

# ipvsadm -S leaves thresholds out: uthreshold 1000 / lthreshold 100 and uthreshold 50.
thresholds=$(ipvsadm -Ln --thresholds)
echo "$thresholds" | grep -Eq -- '-> 192\.168\.1\.2:8080 +1000 +100 ' ||
  { echo "$thresholds"; fail "thresholds 1000/100 of 192.168.1.2:8080"; }
echo "$thresholds" | grep -Eq -- '-> \[2001:db8:1::2\]:80 +50 +0 ' ||
  { echo "$thresholds"; fail "threshold 50 of [2001:db8:1::2]:80"; }
echo "$thresholds" | grep -Eq -- '-> 192\.168\.1\.1:8080 +0 +0 ' ||
  { echo "$thresholds"; fail "no thresholds on 192.168.1.1:8080"; }

# A full resync pass later nothing has changed (vigild adopted its own table).
sleep 11
expect_eq "table after a resync pass" "$expected" "$(table -)"
alive "$vigild_pid" || fail "vigild exited"

stop_pid "$vigild_pid" TERM 10
if [ -n "$(table -)" ]; then
  show_log features
  fail "services left after SIGTERM: $(table -)"
fi
