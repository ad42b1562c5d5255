# Real traffic through IPVS NAT programmed by ipvsadm: client -> director -> 2 real servers
# running httpd; rr splits 10 requests exactly 5/5.
#
#   client 10.0.1.2 --veth-- 10.0.1.1 (+VIP 10.0.1.100) director 10.0.2.1 (br0)
#                                                 +-- veth -- r1 10.0.2.11
#                                                 +-- veth -- r2 10.0.2.12
. /tests/lib.sh


new_ns client
new_ns director
new_ns r1
new_ns r2
veth_pair client eth0 10.0.1.2/24 director eth0 10.0.1.1/24
ip -n director addr add 10.0.1.100/32 dev eth0
ip -n client route add default via 10.0.1.1
ip -n director link add br0 type bridge
ip -n director link set br0 up
ip -n director addr add 10.0.2.1/24 dev br0
for rs in r1 r2; do
  veth_pair "$rs" eth0 - director "v$rs" -
  ip -n director link set "v$rs" master br0
done
ip -n r1 addr add 10.0.2.11/24 dev eth0
ip -n r2 addr add 10.0.2.12/24 dev eth0
ip -n r1 route add default via 10.0.2.1
ip -n r2 route add default via 10.0.2.1
ip netns exec director sysctl -qw net.ipv4.ip_forward=1

http_server r1 r1 80
http_server r2 r2 80
wait_tcp r1 10.0.2.11 80
wait_tcp r2 10.0.2.12 80

ip netns exec director ipvsadm -A -t 10.0.1.100:80 -s rr || fail "ipvsadm -A"
ip netns exec director ipvsadm -a -t 10.0.1.100:80 -r 10.0.2.11:80 -m || fail "ipvsadm -a r1"
ip netns exec director ipvsadm -a -t 10.0.1.100:80 -r 10.0.2.12:80 -m || fail "ipvsadm -a r2"

responses=$(fetch_many client http://10.0.1.100/ 10)
echo "$responses" | sort | uniq -c
r1=$(echo "$responses" | grep -c '^r1$')
r2=$(echo "$responses" | grep -c '^r2$')
expect_eq "rr split of 10 requests (r1 r2)" "5 5" "$r1 $r2"
ip netns exec director ipvsadm -Ln --stats
