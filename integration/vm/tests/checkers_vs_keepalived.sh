# Health checkers side by side with keepalived 2.2.7 on real IPVS: one config, two directors on
# the same real servers, keepalived -C in one namespace and vigild -C in the other. After every
# step (kill a server, break its health URL, lose and regain the quorum with a sorry server,
# change a MISC_CHECK's exit code, reload, change a FILE_CHECK's file (hex too), make a server
# ignore pings (PING_CHECK; both directors start in fresh namespaces, where
# net.ipv4.ping_group_range refuses ICMP datagram sockets), make an SMTP server greet with 554
# (SMTP_CHECK)) `ipvsadm -Sn` must be the same for
# both, and client
# traffic through vigild's VIP must stop reaching the failed server.
# vigil-timeout: 240
. /tests/lib.sh
. /tests/vigild_lib.bash

[ -x /usr/sbin/keepalived ] || fail "keepalived is not in the image"

# nat_topology: client -> director (vigild) -> r1 10.0.2.11, r2 10.0.2.12 on the director's br0.
# keepalived's director `kdir` sits on the same bridge at 10.0.2.2 and checks the same servers.
new_ns client
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
ip netns exec director sysctl -qw net.ipv4.ip_forward=1

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
            connect_timeout 1
        }
    }
    real_server 10.0.2.12 80 {
        weight $1
        HTTP_GET {
            url {
                path /index.html
            }
            connect_timeout 1
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
            connect_timeout 2
            retry 0
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
trap 'show_log checkers; echo "--- keepalived log"; tail -n 40 /tmp/keepalived-checkers.log; kill_spawned' EXIT

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

# step NAME EXPECTED: both directors reach EXPECTED plus $file_vs, $ping_vs and $smtp_vs
# (sorted ipvsadm -Sn) within 30 s.
step() {
  local expected
  expected=$(printf '%s\n%s\n%s\n%s\n' "$2" "$file_vs" "$ping_vs" "$smtp_vs" | LC_ALL=C sort)
  wait_table kdir "$expected" 30 || true
  wait_table director "$expected" 30 || true
  expect_eq "$1: keepalived's table" "$expected" "$(table kdir)"
  expect_eq "$1: vigild's table" "$expected" "$(table director)"
  echo "ok: $1"
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
expect_split client http://10.0.1.100/ 6 "3 3"

kill "$r1_httpd"
step "r1 killed (TCP_CHECK)" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 2
$svc8080
$misc1"
expect_split client http://10.0.1.100/ 6 "0 6"

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

echo 5 >/tmp/ck-misc-code
step "MISC_CHECK exits 5 (misc_dynamic: weight 3)" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 2
$svc8080
-a -t 10.0.1.100:8080 -r 10.0.2.11:8080 -m -w 3"

echo 1 >/tmp/ck-misc-code
step "MISC_CHECK exits 1: out" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 2
$svc8080"

# lvs_notify_fifo: the same lines in the same order (keepalived's RS/VS UP/DOWN format). Before
# the reload: keepalived closes and reopens its FIFO on SIGHUP, which ends the reader's cat.
# The readers copy what the daemons wrote before their tables changed: wait (at most 5 s) for
# the copies to hold 12 lines.
i=0
while [ $i -lt 25 ] && { [ "$(wc -l </tmp/ck-fifo-keepalived.lines)" -lt 12 ] ||
  [ "$(wc -l </tmp/ck-fifo-vigild.lines)" -lt 12 ]; }; do
  sleep 0.2
  i=$((i + 1))
done
expect_eq "lvs_notify_fifo lines" "$(cat /tmp/ck-fifo-keepalived.lines)" \
  "$(cat /tmp/ck-fifo-vigild.lines)"
echo "--- lvs_notify_fifo lines (both daemons)"
cat /tmp/ck-fifo-vigild.lines
[ "$(wc -l </tmp/ck-fifo-vigild.lines)" -eq 12 ] || fail "not 12 lvs_notify_fifo lines"

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

# PING_CHECK: r2 stops answering echo requests (its namespace ignores them), then answers again.
ip netns exec r2 sysctl -qw net.ipv4.icmp_echo_ignore_all=1
ping_vs="-A -t 10.0.1.100:8082 -s rr"
step "PING_CHECK: r2 ignores pings, out" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"
ip netns exec r2 sysctl -qw net.ipv4.icmp_echo_ignore_all=0
ping_vs="-A -t 10.0.1.100:8082 -s rr
-a -t 10.0.1.100:8082 -r 10.0.2.12:8082 -m -w 1"
step "PING_CHECK: r2 answers again, back" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"

# SMTP_CHECK: r1's server greets with 554 (keepalived's check wants 220), then 220 again.
echo 554 >/tmp/ck-smtp-code
smtp_vs="-A -t 10.0.1.100:25 -s rr"
step "SMTP_CHECK: r1 greets with 554, out" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"
echo 220 >/tmp/ck-smtp-code
smtp_vs="-A -t 10.0.1.100:25 -s rr
-a -t 10.0.1.100:25 -r 10.0.2.11:25 -m -w 1"
step "SMTP_CHECK: r1 greets with 220, back" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080"

echo 0 >/tmp/ck-misc-code
step "MISC_CHECK exits 0 after the reload: back at its configured weight" "$svc80
-a -t 10.0.1.100:80 -r 10.0.2.12:80 -m -w 4
$svc8080
$misc1"

stop_pid "$vigild_pid" TERM 10
stop_pid "$keepalived_pid" TERM 10
# vigild keeps its unchanged FIFO open across the reload: the MISC server's return is there.
expect_eq "vigild's lvs_notify_fifo lines after the reload" \
  "RS [10.0.2.11]:tcp:8080 [10.0.1.100]:tcp:8080 UP
VS [10.0.1.100]:tcp:8080 UP" "$(tail -n 2 /tmp/ck-fifo-vigild.lines)"
trap kill_spawned EXIT
echo "PASS: keepalived and vigild agree at every step"
