# The test bed carries the FULLNAT recipe (IPVS NAT plus source NAT by nftables of what IPVS
# forwards): real servers without any route back to the client still answer, seeing the
# director's address as the source. Programmed with ipvsadm and nft, the reference tools.
. /tests/lib.sh

nat_topology
for rs in r1 r2; do ip -n "$rs" route del default; done
ip netns exec director ipvsadm -A -t 10.0.1.100:80 -s rr || fail "ipvsadm -A"
ip netns exec director ipvsadm -a -t 10.0.1.100:80 -r 10.0.2.11:80 -m || fail "ipvsadm -a r1"
ip netns exec director ipvsadm -a -t 10.0.1.100:80 -r 10.0.2.12:80 -m || fail "ipvsadm -a r2"
# Plain NAT cannot work here: the real servers have no route to the client.
[ "$(fetch_many client http://10.0.1.100/ 1)" = ERROR ] || fail "NAT alone must not get an answer"

# IPVS keeps conntrack entries for what it forwards, so nftables can NAT it.
ip netns exec director sysctl -qw net.ipv4.vs.conntrack=1 || fail "vs.conntrack"
ip netns exec director nft -f - <<'NFT' || fail "nft"
table ip fullnat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip daddr 10.0.2.0/24 oifname "br0" masquerade
  }
}
NFT
expect_split client http://10.0.1.100/ 10 "5 5"
ip netns exec director nft list ruleset
