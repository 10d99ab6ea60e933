// Book 5.2 and 10.3: corekube dns: the cluster's DNS server for Services and pods.
export {};
