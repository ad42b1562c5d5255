# iptables-nft commands run after the .rules file: a rule dropping VRRP.
iptables-nft -A INPUT -p tcp --dport 22 -j ACCEPT
iptables-nft -A INPUT -p 112 -j DROP
