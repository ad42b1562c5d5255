# Pipelined apply: edits in place, deletes, and failures mapped back to their own operations
# while every other operation still lands; the same with batches of 3 (failures spread over
# several batches) and of 1.
. /tests/lib.sh

cat >/tmp/ops.rules <<'RULES'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 1
-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 1
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.9:80 -r 192.168.1.3:80 -m -w 1
-A -t 10.0.0.2:80 -s nosuchsched
-E -t 10.0.0.1:80 -s wlc -p 60
-e -t 10.0.0.1:80 -r 192.168.1.1:80 -g -w 9
-d -t 10.0.0.1:80 -r 192.168.1.2:80
-A -u 10.0.0.3:53 -s rr
-D -u 10.0.0.3:53
-d -t 10.0.0.1:80 -r 192.168.1.99:80
-A -t 10.0.0.4:80 -s rr
RULES
expected_table='-A -t 10.0.0.1:80 -s wlc -p 60
-a -t 10.0.0.1:80 -r 192.168.1.1:80 -g -w 9
-A -t 10.0.0.4:80 -s rr'

for window in 256 3 1; do
  ipvsadm -C
  output=$(VIGIL_PROBE_WINDOW=$window vigil-ipvs-probe apply /tmp/ops.rules)
  status=$?
  echo "window $window:"
  echo "$output"
  expect_eq "exit status with failures (window $window)" 3 "$status"
  expect_eq "failed lines (window $window)" "4 5 6 12" \
    "$(echo "$output" | awk '$1 == "FAIL" { printf "%s%s", sep, $2; sep = " " }')"
  echo "$output" | grep -q '^FAIL 4 .*File exists' || fail "line 4 is EEXIST"
  echo "$output" | grep -q '^FAIL 5 .*No such process' || fail "line 5 is ESRCH"
  echo "$output" | grep -q '^FAIL 6 .*No such file or directory.*scheduler' || fail "line 6 is ENOENT"
  echo "$output" | grep -q '^FAIL 12 .*No such file or directory' || fail "line 12 is ENOENT"
  expect_sorted_eq "table after the partly failing apply (window $window)" \
    <(echo "$expected_table") "$(ipvsadm -Sn)"
done
