# Health checkers side by side with keepalived 2.2.7 on real IPVS: one config, two directors on
# the same real servers, keepalived -C in one namespace and vigild -C in the other. After every
# step (kill a server, break its health URL, lose and regain the quorum with a sorry server,
# change a MISC_CHECK's exit code, reload, change a FILE_CHECK's file (hex too), make a server
# ignore pings (PING_CHECK; both directors start in fresh namespaces, where
# net.ipv4.ping_group_range refuses ICMP datagram sockets), make an SMTP server greet with 554
# (SMTP_CHECK), make a TLS server's health URL answer 503 (SSL_GET, openssl s_server), make a
# DNS server answer NXDOMAIN (DNS_CHECK, dnsmasq; and UDP_CHECK with a DNS query as payload and
# the expected reply's prefix), stop the DNS server (UDP_CHECK: ICMP port unreachable), and
# each server's return) `ipvsadm -Sn` must be the same for both. Client traffic through each
# director's VIP (vigild's from `client`, keepalived's from `kclient`) must stop reaching the
# failed server and reach it again once it is back: the same split of requests for both.
# vigil-timeout: 300
. /tests/lib.sh
. /tests/vigild_lib.bash

[ -x /usr/sbin/keepalived ] || fail "keepalived is not in the image"

# nat_topology: client -> director (vigild) -> r1 10.0.2.11, r2 10.0.2.12 on the director's br0.
# keepalived's director `kdir` sits on the same bridge at 10.0.2.2 and checks the same servers;
# its own client `kclient` (10.0.3.2) reaches the VIP 10.0.1.100 on kdir, and the real servers
# route 10.0.3.0/24 back through kdir (NAT needs the replies).
new_ns client
new_ns kclient
new_ns director
new_ns kdir
new_ns r1
new_ns r2
veth_pair client eth0 10.0.1.2/24 director eth0 10.0.1.1/24
ip -n director addr add 10.0.1.100/32 dev eth0
ip -n client route add default via 10.0.1.1
ip -n director link add br0 type bridge
ip -n director link set br0 up
ip -n director addr add 10.0.2.1/24 dev br0
for ns in r1 r2 kdir; do
  veth_pair "$ns" eth0 - director "v$ns" -
  ip -n director link set "v$ns" master br0
done
ip -n r1 addr add 10.0.2.11/24 dev eth0
ip -n r2 addr add 10.0.2.12/24 dev eth0
ip -n kdir addr add 10.0.2.2/24 dev eth0
ip -n r1 route add default via 10.0.2.1
ip -n r2 route add default via 10.0.2.1
veth_pair kclient eth0 10.0.3.2/24 kdir eth1 10.0.3.1/24
ip -n kdir addr add 10.0.1.100/32 dev eth1
ip -n kclient route add default via 10.0.3.1
ip -n r1 route add 10.0.3.0/24 via 10.0.2.2
ip -n r2 route add 10.0.3.0/24 via 10.0.2.2
for ns in director kdir; do
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  # IPVS keeps a UDP connection 300 s: a DNS query from a reused source port would go where
  # an earlier one went (or be dropped if that server is out) instead of being scheduled. 1 s.
  ip netns exec "$ns" ipvsadm --set 0 0 1
done

# start_httpd NS ADDR NAME: serves NAME at / and /index.html; sets httpd_pid.
start_httpd() {
  mkdir -p "/tmp/www-$1"
  echo "$3" >"/tmp/www-$1/index.html"
  spawn ip netns exec "$1" httpd -f -p "$2:80" -h "/tmp/www-$1"
  httpd_pid=$!
  wait_tcp "$1" "$2" 80
}
start_httpd r1 10.0.2.11 r1
r1_httpd=$httpd_pid
start_httpd r2 10.0.2.12 r2
# The other TCP services' ports answer with the server's name too, for the traffic checks.
http_server r1 r1 8080
http_server r1 r1 8081
http_server r2 r2 8081
http_server r2 r2 8082
wait_tcp r1 10.0.2.11 8080
wait_tcp r1 10.0.2.11 8081
wait_tcp r2 10.0.2.12 8081
wait_tcp r2 10.0.2.12 8082

# TLS servers for SSL_GET: openssl s_server -HTTP on r1:443 and r2:443 sends each requested file
# (a whole HTTP response) and closes. /index.html is the health URL (503 breaks it), /name the
# client traffic's. One self-signed certificate, made here (neither daemon verifies it).
printf '[req]\ndistinguished_name = dn\n[dn]\n' >/tmp/ck-openssl.cnf
openssl req -config /tmp/ck-openssl.cnf -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -nodes -subj /CN=vigil.test -days 2 -keyout /tmp/ck-tls.key -out /tmp/ck-tls.crt 2>/dev/null ||
  fail "openssl req"
# tls_get NS ADDR TIMEOUT: the body of https://ADDR/name from NS. openssl s_client, not busybox
# wget: s_server reads the request line only, and wget's ssl_client writes the headers after it
# in records of their own, into a connection the server closes: the reset loses the answer.
tls_get() {
  printf 'GET /name HTTP/1.0\r\n\r\n' |
    nsenter --net="/run/netns/$1" timeout "$3" openssl s_client -quiet -connect "$2:443" 2>/dev/null |
    tail -n 1
}
# tls_health NS CODE: what NS's TLS server answers on /index.html (replaced whole: the server
# never reads half a file).
tls_health() {
  printf 'HTTP/1.0 %s\r\n\r\n%s\n' "$2" "$1" >"/tmp/tls-$1.new"
  mv "/tmp/tls-$1.new" "/tmp/tls-$1/index.html"
}
for spec in r1:10.0.2.11 r2:10.0.2.12; do
  ns=${spec%%:*}
  mkdir -p "/tmp/tls-$ns"
  printf 'HTTP/1.0 200 OK\r\n\r\n%s\n' "$ns" >"/tmp/tls-$ns/name"
  tls_health "$ns" "200 OK"
  cd "/tmp/tls-$ns" || fail "cd /tmp/tls-$ns"  # s_server serves files relative to its cwd
  spawn ip netns exec "$ns" openssl s_server -HTTP -accept "${spec#*:}:443" \
    -cert /tmp/ck-tls.crt -key /tmp/ck-tls.key >"/tmp/tls-$ns.log" 2>&1
  cd /tmp || fail "cd /tmp"
  wait_tcp "$ns" "${spec#*:}" 443
  # The first handshake of an s_server is the slowest (OpenSSL loads its algorithms): make it
  # here, not in the daemons' first checks. It also shows that the server answers.
  expect_eq "$ns's TLS server" "$ns" "$(tls_get "$ns" "${spec#*:}" 10)"
done

# DNS servers for DNS_CHECK and UDP_CHECK: dnsmasq on r1:53 and r2:53 answers www.vigil.test
# with the server's own address (from /tmp/dns-NS.hosts, re-read on SIGHUP) and NXDOMAIN when
# the file is empty (vigil.test is local: no upstream). start_dns NS ADDR sets dns_pid.
start_dns() {
  spawn ip netns exec "$1" dnsmasq -k -C /dev/null --no-resolv --no-hosts --user=root \
    --group=root --pid-file= --addn-hosts="/tmp/dns-$1.hosts" --local=/vigil.test/ \
    --listen-address="$2" --bind-interfaces --log-facility="/tmp/dns-$1.log"
  dns_pid=$!
  wait_tcp "$1" "$2" 53  # dnsmasq serves TCP too, once it is ready
}
echo "10.0.2.11 www.vigil.test" >/tmp/dns-r1.hosts
echo "10.0.2.12 www.vigil.test" >/tmp/dns-r2.hosts
start_dns r1 10.0.2.11
r1_dns=$dns_pid
start_dns r2 10.0.2.12
r2_dns=$dns_pid

# A minimal SMTP server on r1:25 for SMTP_CHECK (busybox nc runs the script per connection):
# the greeting's code comes from /tmp/ck-smtp-code; HELO gets 250, QUIT 221.
cat >/tmp/ck-smtp.sh <<'SH'
#!/bin/sh
printf '%s r1 ESMTP\r\n' "$(cat /tmp/ck-smtp-code)"
read -r _helo
printf '250 r1\r\n'
read -r _quit
printf '221 bye\r\n'
SH
chmod 0755 /tmp/ck-smtp.sh
echo 220 >/tmp/ck-smtp-code
spawn ip netns exec r1 nc -ll -p 25 -e /tmp/ck-smtp.sh
wait_tcp r1 10.0.2.11 25

# SMTP alerts: a mail sink per daemon on r2 (keepalived's on 2526, vigild's on 2527) that answers
# every command and keeps each alert's Subject line in /tmp/ck-mail-DAEMON.log.
for daemon in keepalived vigild; do
  cat >"/tmp/ck-mail-$daemon.sh" <<SH
#!/bin/sh
printf '220 sink ESMTP\r\n'
data=0
while read -r line; do
  line=\$(printf '%s' "\$line" | tr -d '\r')
  if [ "\$data" = 1 ]; then
    if [ "\$line" = . ]; then data=0; printf '250 queued\r\n'; continue; fi
    case \$line in Subject:*) echo "\$line" >>/tmp/ck-mail-$daemon.log ;; esac
    continue
  fi
  case \$line in
    DATA*) data=1; printf '354 go ahead\r\n' ;;
    QUIT*) printf '221 bye\r\n'; exit 0 ;;
    *) printf '250 ok\r\n' ;;
  esac
done
SH
  chmod 0755 "/tmp/ck-mail-$daemon.sh"
  : >"/tmp/ck-mail-$daemon.log"
done
spawn ip netns exec r2 nc -ll -p 2526 -e /tmp/ck-mail-keepalived.sh
spawn ip netns exec r2 nc -ll -p 2527 -e /tmp/ck-mail-vigild.sh
wait_tcp r2 10.0.2.12 2526
wait_tcp r2 10.0.2.12 2527

cat >/tmp/ck-misc.sh <<'SH'
#!/bin/sh
exit "$(cat /tmp/ck-misc-code)"
SH
chmod 0755 /tmp/ck-misc.sh
echo 0 >/tmp/ck-misc-code
echo 0 >/tmp/ck-weight

# Every failure below but PING_CHECK's is immediate (a reset, an ICMP error, a wrong answer): the
# timeouts and retries only keep a loaded machine's slow answers from failing a check.
config=/tmp/checkers.conf
write_config() {  # write_config WEIGHT_OF_R2; each daemon gets its own lvs_notify_fifo
  cat >"$config" <<CONF
global_defs {
    lvs_notify_fifo @FIFO@
    notification_email {
        ops@vigil.test
    }
    notification_email_from director@vigil.test
    smtp_server 10.0.2.12 @SMTPPORT@
    smtp_connect_timeout 5
}
track_file ckweight {
    file /tmp/ck-weight
}
virtual_server 10.0.1.100 80 {
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    quorum 2
    sorry_server 10.0.2.13 80
    real_server 10.0.2.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
    real_server 10.0.2.12 80 {
        weight $1
        HTTP_GET {
            url {
                path /index.html
            }
            connect_timeout 3
            retry 1
            delay_before_retry 1
        }
    }
}
virtual_server 10.0.1.100 8080 {
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.11 8080 {
        weight 1
        MISC_CHECK {
            misc_path "/tmp/ck-misc.sh"
            misc_dynamic
            misc_timeout 5
        }
    }
}
virtual_server 10.0.1.100 8081 {
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.11 8081 {
        weight 1
        FILE_CHECK {
            track_file ckweight
            weight 2
        }
    }
    real_server 10.0.2.12 8081 {
        weight 1
        FILE_CHECK {
            track_file ckweight
            weight 0
        }
    }
}
virtual_server 10.0.1.100 8082 {
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.12 8082 {
        weight 1
        PING_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
virtual_server 10.0.1.100 25 {
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.11 25 {
        weight 1
        SMTP_CHECK {
            helo_name director.vigil.test
            connect_timeout 5
            retry 0
        }
    }
}
# SSL_GET: one s_server per real server, one handshake at a time, slow under emulation: checks
# every 2 s, a 5 s timeout and a retry.
virtual_server 10.0.1.100 443 {
    delay_loop 2
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 10.0.2.11 443 {
        weight 1
        SSL_GET {
            url {
                path /index.html
            }
            connect_timeout 5
            retry 1
            delay_before_retry 1
            log_all_failures
        }
    }
    real_server 10.0.2.12 443 {
        weight 1
        SSL_GET {
            url {
                path /index.html
            }
            connect_timeout 5
            retry 1
            delay_before_retry 1
            log_all_failures
        }
    }
}
virtual_server 10.0.1.100 53 {
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol UDP
    real_server 10.0.2.11 53 {
        weight 1
        DNS_CHECK {
            type A
            name www.vigil.test
            connect_timeout 3
            retry 1
            delay_before_retry 1
        }
    }
    # The same query by hand (ID 1234, RD, www.vigil.test A IN); the reply must echo the ID, be
    # a response with RCODE 0 (X: any nibble), one question and one answer.
    real_server 10.0.2.12 53 {
        weight 1
        UDP_CHECK {
            payload 1234 0100 0001 0000 0000 0000 03777777 05766967696c 0474657374 00 0001 0001
            require_reply 1234 8X X0 0001 0001
            connect_timeout 3
            retry 1
            delay_before_retry 1
        }
    }
}
CONF
  sed 's|@FIFO@|/tmp/ck-fifo-keepalived|; s|@SMTPPORT@|2526|' "$config" \
    >/tmp/checkers-keepalived.conf
  sed 's|@FIFO@|/tmp/ck-fifo-vigild|; s|@SMTPPORT@|2527|' "$config" >/tmp/checkers-vigild.conf
}
write_config 2
# The FIFOs' lines, read from the start (each daemon creates its FIFO; the readers wait for it).
for daemon in keepalived vigild; do
  mkfifo "/tmp/ck-fifo-$daemon"
  spawn sh -c "exec cat /tmp/ck-fifo-$daemon >/tmp/ck-fifo-$daemon.lines"
done

spawn ip netns exec kdir keepalived -C -n -l -D -f /tmp/checkers-keepalived.conf -p /tmp/ka-ck.pid \
  -c /tmp/ka-ck-checkers.pid >/tmp/keepalived-checkers.log 2>&1
keepalived_pid=$!
start_vigild checkers /tmp/checkers-vigild.conf director
trap 'show_log checkers; echo "--- keepalived log"; tail -n 40 /tmp/keepalived-checkers.log
  for ns in r1 r2; do echo "--- s_server log ($ns)"; tail -n 10 "/tmp/tls-$ns.log"; done
  kill_spawned' EXIT

# The FILE_CHECK service's lines, part of every step (changed by the FILE_CHECK steps).
file_vs="-A -t 10.0.1.100:8081 -s rr
-a -t 10.0.1.100:8081 -r 10.0.2.11:8081 -m -w 1
-a -t 10.0.1.100:8081 -r 10.0.2.12:8081 -m -w 1"

# The PING_CHECK service's lines, part of every step (changed by the PING_CHECK steps).
ping_vs="-A -t 10.0.1.100:8082 -s rr
-a -t 10.0.1.100:8082 -r 10.0.2.12:8082 -m -w 1"

# The SMTP_CHECK service's lines, part of every step (changed by the SMTP_CHECK steps).
smtp_vs="-A -t 10.0.1.100:25 -s rr
-a -t 10.0.1.100:25 -r 10.0.2.11:25 -m -w 1"

# The SSL_GET service's lines, part of every step (changed by the SSL_GET steps).
tls_vs="-A -t 10.0.1.100:443 -s rr
-a -t 10.0.1.100:443 -r 10.0.2.11:443 -m -w 1
-a -t 10.0.1.100:443 -r 10.0.2.12:443 -m -w 1"

# The DNS service's lines (DNS_CHECK on r1, UDP_CHECK on r2), part of every step.
dns_vs="-A -u 10.0.1.100:53 -s rr
-a -u 10.0.1.100:53 -r 10.0.2.11:53 -m -w 1
-a -u 10.0.1.100:53 -r 10.0.2.12:53 -m -w 1"

# step NAME EXPECTED: both directors reach EXPECTED plus $file_vs, $ping_vs, $smtp_vs, $tls_vs
# and $dns_vs (sorted ipvsadm -Sn) within 30 s.
step() {
  local expected
  expected=$(printf '%s\n%s\n%s\n%s\n%s\n%s\n' "$2" "$file_vs" "$ping_vs" "$smtp_vs" "$tls_vs" \
    "$dns_vs" | LC_ALL=C sort)
  wait_table kdir "$expected" 30 || true
  wait_table director "$expected" 30 || true
  expect_eq "$1: keepalived's table" "$expected" "$(table kdir)"
  expect_eq "$1: vigild's table" "$expected" "$(table director)"
  echo "ok: $1 (uptime $(cut -d' ' -f1 /proc/uptime))"
}

# request KIND CLIENT PORT: one request through the VIP from CLIENT's namespace; prints the name
# of the real server that answered (r1, r2) or ERROR. nsenter, wget, nslookup and timeout are
# busybox applets (fast to start under emulation). The timeouts are generous: a request that
# should fail is refused at once (no real server left), and s_server takes one TLS client at a
# time, each handshake slow under emulation.
request() {
  local net=/run/netns/$2 out
  case $1 in
    http) out=$(nsenter --net="$net" timeout 10 wget -q -O - "http://10.0.1.100:$3/") ;;
    tls) out=$(tls_get "$2" 10.0.1.100 15) ;;
    dns)
      # Each real server answers with its own address.
      out=$(nsenter --net="$net" timeout 10 nslookup -type=a www.vigil.test 10.0.1.100 |
        awk '$1 == "Address:" && $2 == "10.0.2.11" { print "r1" }
             $1 == "Address:" && $2 == "10.0.2.12" { print "r2" }')
      ;;
    smtp)
      # The greeting names the server ("220 r1 ESMTP").
      out=$(nsenter --net="$net" timeout 10 bash -c "exec 3<>/dev/tcp/10.0.1.100/$3 && head -n 1 <&3" |
        awk '{ print $2 }')
      ;;
  esac
  case $out in r1 | r2) echo "$out" ;; *) echo ERROR ;; esac
}

# expect_traffic WHAT KIND PORT COUNT EXPECTED: COUNT requests through vigild's VIP (from
# client) and, at the same time, COUNT through keepalived's (from kclient); EXPECTED is
# "r1-count r2-count", the same for both (rr alternates between the servers in the table).
expect_traffic() {
  local c i counts pids=
  for c in client kclient; do
    (
      i=0
      while [ $i -lt "$4" ]; do
        request "$2" "$c" "$3"
        i=$((i + 1))
      done >"/tmp/ck-traffic-$c"
    ) &
    pids="$pids $!"
  done
  wait $pids  # not a bare `wait`: the servers and daemons are children too
  for c in client kclient; do
    counts="$(grep -c '^r1$' "/tmp/ck-traffic-$c") $(grep -c '^r2$' "/tmp/ck-traffic-$c")"
    echo "traffic $c -> :$3: $(tr '\n' ' ' <"/tmp/ck-traffic-$c")"
    expect_eq "$1: $c's $4 requests to :$3 through the VIP (r1 r2)" "$5" "$counts"
  done
}

svc80="-A -t 10.0.1.100:80 -s rr"
svc8080="-A -t 10.0.1.100:8080 -s rr"
r1="-a -t 10.0.1.100:80 -r 10.0.2.11:80 -m -w 1"
misc1="-a -t 10.0.1.100:8080 -r 10.0.2.11:8080 -m -w 1"

step "all up" "$svc80
$r1
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 2
$svc8080
$misc1"
expect_traffic "all up" http 80 4 "2 2"
expect_traffic "all up" http 8080 2 "2 0"
expect_traffic "all up" http 8081 2 "1 1"
expect_traffic "all up" http 8082 2 "0 2"
expect_traffic "all up" smtp 25 2 "2 0"
expect_traffic "all up" tls 443 2 "1 1"
expect_traffic "all up" dns 53 2 "1 1"

kill "$r1_httpd"
step "r1 killed (TCP_CHECK)" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 2
$svc8080
$misc1"
expect_traffic "r1 killed" http 80 4 "0 4"

rm /tmp/www-r2/index.html
step "r2's health URL broken: quorum lost, sorry server in" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.13:80 -m -w 1
$svc8080
$misc1"

echo r2 >/tmp/www-r2/index.html
step "r2's URL back: quorum regained, sorry server out" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 2
$svc8080
$misc1"
expect_traffic "quorum regained" http 80 2 "0 2"

echo 5 >/tmp/ck-misc-code
step "MISC_CHECK exits 5 (misc_dynamic: weight 3)" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 2
$svc8080
-a -t 10.0.1.100:8080 -r 10.0.2.11:8080 -m -w 3"

echo 1 >/tmp/ck-misc-code
step "MISC_CHECK exits 1: out" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 2
$svc8080"
expect_traffic "MISC_CHECK out" http 8080 2 "0 0"

# lvs_notify_fifo: the same lines in the same order (keepalived's RS/VS UP/DOWN format). Before
# the reload: keepalived closes and reopens its FIFO on SIGHUP, which ends the reader's cat.
# The readers copy what the daemons wrote before their tables changed: wait (at most 5 s) for
# the copies to hold 14 lines (12, and the UP lines of the SSL_GET and DNS services at start).
i=0
while [ $i -lt 25 ] && { [ "$(wc -l </tmp/ck-fifo-keepalived.lines)" -lt 14 ] ||
  [ "$(wc -l </tmp/ck-fifo-vigild.lines)" -lt 14 ]; }; do
  sleep 0.2
  i=$((i + 1))
done
expect_eq "lvs_notify_fifo lines" "$(cat /tmp/ck-fifo-keepalived.lines)" \
  "$(cat /tmp/ck-fifo-vigild.lines)"
echo "--- lvs_notify_fifo lines (both daemons)"
cat /tmp/ck-fifo-vigild.lines
[ "$(wc -l </tmp/ck-fifo-vigild.lines)" -eq 14 ] || fail "not 14 lvs_notify_fifo lines"

# SMTP alerts: the same Subjects from both daemons (sorted: each sends as its checks end). Five
# by now: r1:80 DOWN, r2:80 DOWN and UP, and MISC_CHECK's r1:8080 UP (check_misc.c mails its
# first success) and DOWN; the last may still be on its way: wait (at most 10 s) for five.
i=0
while [ $i -lt 50 ] && { [ "$(grep -c 'Realserver' /tmp/ck-mail-keepalived.log)" -lt 5 ] ||
  [ "$(grep -c 'Realserver' /tmp/ck-mail-vigild.log)" -lt 5 ]; }; do
  sleep 0.2
  i=$((i + 1))
done
expect_eq "SMTP alert subjects" "$(LC_ALL=C sort /tmp/ck-mail-keepalived.log)" \
  "$(LC_ALL=C sort /tmp/ck-mail-vigild.log)"
echo "--- SMTP alert subjects (both daemons)"
LC_ALL=C sort /tmp/ck-mail-vigild.log
[ "$(grep -c 'Realserver' /tmp/ck-mail-vigild.log)" -eq 5 ] || fail "not 5 real-server alerts"

write_config 4
kill -HUP "$keepalived_pid" "$vigild_pid"
step "reload: r2 weight 4, the failed MISC server stays out" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"

# FILE_CHECK: value * 2 joins r1's weight; r2's weight 0 means any non-zero value takes it out.
# keepalived reads the number with strtol(..., 0): 0x2 is 2.
echo 3 >/tmp/ck-weight
file_vs="-A -t 10.0.1.100:8081 -s rr
-a -t 10.0.1.100:8081 -r 10.0.2.11:8081 -m -w 7"
step "FILE_CHECK value 3: r1 weight 7, r2 out" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"
expect_traffic "FILE_CHECK r2 out" http 8081 2 "2 0"
echo 0x2 >/tmp/ck-weight
file_vs="-A -t 10.0.1.100:8081 -s rr
-a -t 10.0.1.100:8081 -r 10.0.2.11:8081 -m -w 5"
step "FILE_CHECK value 0x2: r1 weight 5" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"
echo 0 >/tmp/ck-weight
file_vs="-A -t 10.0.1.100:8081 -s rr
-a -t 10.0.1.100:8081 -r 10.0.2.11:8081 -m -w 1
-a -t 10.0.1.100:8081 -r 10.0.2.12:8081 -m -w 1"
step "FILE_CHECK value 0: both back at weight 1" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"
expect_traffic "FILE_CHECK r2 back" http 8081 2 "1 1"

# PING_CHECK: r2 stops answering echo requests (its namespace ignores them), then answers again.
ip netns exec r2 sysctl -qw net.ipv4.icmp_echo_ignore_all=1
ping_vs="-A -t 10.0.1.100:8082 -s rr"
step "PING_CHECK: r2 ignores pings, out" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"
expect_traffic "PING_CHECK r2 out" http 8082 2 "0 0"
ip netns exec r2 sysctl -qw net.ipv4.icmp_echo_ignore_all=0
ping_vs="-A -t 10.0.1.100:8082 -s rr
-a -t 10.0.1.100:8082 -r 10.0.2.12:8082 -m -w 1"
step "PING_CHECK: r2 answers again, back" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"
expect_traffic "PING_CHECK r2 back" http 8082 2 "0 2"

# SMTP_CHECK: r1's server greets with 554 (keepalived's check wants 220), then 220 again.
echo 554 >/tmp/ck-smtp-code
smtp_vs="-A -t 10.0.1.100:25 -s rr"
step "SMTP_CHECK: r1 greets with 554, out" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"
expect_traffic "SMTP_CHECK r1 out" smtp 25 2 "0 0"
echo 220 >/tmp/ck-smtp-code
smtp_vs="-A -t 10.0.1.100:25 -s rr
-a -t 10.0.1.100:25 -r 10.0.2.11:25 -m -w 1"
step "SMTP_CHECK: r1 greets with 220, back" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"
expect_traffic "SMTP_CHECK r1 back" smtp 25 2 "2 0"

# The rest of the table from here to the MISC server's return.
rest="$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"

# SSL_GET: r1's health URL answers 503 (the TLS server itself stays up), then 200 again.
tls_health r1 "503 Service Unavailable"
tls_vs="-A -t 10.0.1.100:443 -s rr
-a -t 10.0.1.100:443 -r 10.0.2.12:443 -m -w 1"
step "SSL_GET: r1's health URL answers 503, out" "$rest"
expect_traffic "SSL_GET r1 out" tls 443 2 "0 2"
tls_health r1 "200 OK"
tls_vs="-A -t 10.0.1.100:443 -s rr
-a -t 10.0.1.100:443 -r 10.0.2.11:443 -m -w 1
-a -t 10.0.1.100:443 -r 10.0.2.12:443 -m -w 1"
step "SSL_GET: r1's health URL answers 200, back" "$rest"
expect_traffic "SSL_GET r1 back" tls 443 2 "1 1"

# DNS_CHECK: r1's dnsmasq forgets www.vigil.test (NXDOMAIN), then knows it again.
: >/tmp/dns-r1.hosts
kill -HUP "$r1_dns"
dns_vs="-A -u 10.0.1.100:53 -s rr
-a -u 10.0.1.100:53 -r 10.0.2.12:53 -m -w 1"
step "DNS_CHECK: r1 answers NXDOMAIN, out" "$rest"
expect_traffic "DNS_CHECK r1 out" dns 53 2 "0 2"
echo "10.0.2.11 www.vigil.test" >/tmp/dns-r1.hosts
kill -HUP "$r1_dns"
dns_vs="-A -u 10.0.1.100:53 -s rr
-a -u 10.0.1.100:53 -r 10.0.2.11:53 -m -w 1
-a -u 10.0.1.100:53 -r 10.0.2.12:53 -m -w 1"
step "DNS_CHECK: r1 answers again, back" "$rest"
expect_traffic "DNS_CHECK r1 back" dns 53 2 "1 1"

# UDP_CHECK: r2's reply stops matching require_reply (NXDOMAIN: RCODE 3, no answer), then
# matches again; then r2's dnsmasq stops (ICMP port unreachable) and starts again.
r2_dns_vs_out="-A -u 10.0.1.100:53 -s rr
-a -u 10.0.1.100:53 -r 10.0.2.11:53 -m -w 1"
r2_dns_vs_in=$dns_vs
: >/tmp/dns-r2.hosts
kill -HUP "$r2_dns"
dns_vs=$r2_dns_vs_out
step "UDP_CHECK: r2's reply does not match, out" "$rest"
expect_traffic "UDP_CHECK r2 mismatch" dns 53 2 "2 0"
echo "10.0.2.12 www.vigil.test" >/tmp/dns-r2.hosts
kill -HUP "$r2_dns"
dns_vs=$r2_dns_vs_in
step "UDP_CHECK: r2's reply matches again, back" "$rest"
expect_traffic "UDP_CHECK r2 matches" dns 53 2 "1 1"
stop_pid "$r2_dns" TERM 10
dns_vs=$r2_dns_vs_out
step "UDP_CHECK: r2's DNS server stopped, out" "$rest"
expect_traffic "UDP_CHECK r2 stopped" dns 53 2 "2 0"
start_dns r2 10.0.2.12
dns_vs=$r2_dns_vs_in
step "UDP_CHECK: r2's DNS server started again, back" "$rest"
expect_traffic "UDP_CHECK r2 restarted" dns 53 2 "1 1"

echo 0 >/tmp/ck-misc-code
step "MISC_CHECK exits 0 after the reload: back at its configured weight" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080
$misc1"
expect_traffic "MISC_CHECK back" http 8080 2 "2 0"

stop_pid "$vigild_pid" TERM 10
stop_pid "$keepalived_pid" TERM 10
# vigild keeps its unchanged FIFO open across the reload: the MISC server's return is there.
expect_eq "vigild's lvs_notify_fifo lines after the reload" \
  "RS [10.0.2.11]:tcp:8080 [10.0.1.100]:tcp:8080 UP
VS [10.0.1.100]:tcp:8080 UP" "$(tail -n 2 /tmp/ck-fifo-vigild.lines)"
trap kill_spawned EXIT
echo "PASS: keepalived and vigild agree at every step"
