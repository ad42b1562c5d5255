# vigild programs IPVS as every example configuration (etc/*.conf, /examples in the VM) with
# virtual servers says: its table equals the golden file written by hand from the config, and
# SIGTERM removes every service it owns.
# vigil-timeout: 240
. /tests/lib.sh
. /tests/vigild_lib.bash

mkdir -p /tmp/vigild-examples
checked=0
for example in /examples/*.conf; do
  name=$(basename "$example" .conf)
  grep -q '^[[:space:]]*virtual_server[[:space:]]' "$example" || continue
  golden=/golden/etc-$name.expected
  [ -f "$golden" ] || fail "$name has virtual servers but no golden file etc-$name.expected"
  cp "$example" "/tmp/vigild-examples/$name.conf"
  [ -z "$(table -)" ] || fail "table not empty before $name: $(table -)"
  start_vigild "$name" "/tmp/vigild-examples/$name.conf" -
  expected=$(golden_table "$golden")
  if ! wait_table - "$expected" 15; then
    show_log "$name"
    expect_eq "$name: ipvsadm -Sn (sorted)" "$expected" "$(table -)"
  fi
  echo "$name: table as golden ($(echo "$expected" | grep -c '^-A') services)"
  alive "$vigild_pid" || fail "$name: vigild exited"
  stop_pid "$vigild_pid" TERM 10
  if [ -n "$(table -)" ]; then
    show_log "$name"
    fail "$name: services left after SIGTERM: $(table -)"
  fi
  checked=$((checked + 1))
done
[ "$checked" -ge 6 ] || fail "only $checked example configurations with virtual servers"
echo "$checked example configurations checked"
