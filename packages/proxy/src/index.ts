// Book 5.2 and 10.1: corekube proxy: Services to iptables rules, as kube-proxy's iptables mode.
export {};
