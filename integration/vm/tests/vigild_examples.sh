# vigild programs IPVS as every example configuration (etc/*.conf, /examples in the VM) with
# virtual servers says: its table equals the golden file written by hand from the config, and
# SIGTERM removes every service it owns. The examples' real servers do not exist in the VM, so
# their checker blocks are taken out first (a real server without checkers is alive, as in
# keepalived); checkers_vs_keepalived.sh tests the checkers against real servers.
# vigil-timeout: 240
. /tests/lib.sh
. /tests/vigild_lib.bash

mkdir -p /tmp/vigild-examples

# without_checkers FILE: FILE without its checker blocks (from a `*_CHECK {`, `HTTP_GET {` or
# `SSL_GET {` line to its closing brace).
without_checkers() {
  awk '
    skip == 0 && $1 ~ /^([A-Z]+_CHECK|HTTP_GET|SSL_GET)$/ && $2 == "{" { skip = 1; next }
    skip > 0 {
      opened = gsub(/\{/, "{"); closed = gsub(/\}/, "}")
      skip += opened - closed
      next
    }
    { print }
  ' "$1"
}
checked=0
for example in /examples/*.conf; do
  name=$(basename "$example" .conf)
  grep -q '^[[:space:]]*virtual_server[[:space:]]' "$example" || continue
  golden=/golden/etc-$name.expected
  [ -f "$golden" ] || fail "$name has virtual servers but no golden file etc-$name.expected"
  without_checkers "$example" >"/tmp/vigild-examples/$name.conf"
  if grep -Eq '_CHECK|HTTP_GET|SSL_GET' "/tmp/vigild-examples/$name.conf"; then
    fail "$name: a checker block is left in $(cat "/tmp/vigild-examples/$name.conf")"
  fi
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
