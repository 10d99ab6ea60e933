// Book 5.2 and 10.1: golden tests of the iptables rules kube-proxy's iptables mode writes for each kind of
// Service, and of the partial-sync text after one Service changes. Expectations follow upstream's layout.
import { describe, expect, it } from "vitest";
import { endpointChain, externalChain, firewallChain, fullRestoreBatches, fullRestoreText, localChain, partialRestoreText, probability, type Rendering, render, serviceChain, type TableName } from "./render.js";
import { endpoint, service, slice } from "./testing.js";

const node = { nodeName: "node-a", clusterCIDR: "10.244.0.0/16" };

const LAST_NODEPORTS =
  '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS';
const BOILERPLATE = new Set([
  LAST_NODEPORTS,
  "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
  "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
  '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
  '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
  '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
]);

/** The rules of one table that come from Services (the fixed rules every rendering has left out). */
function serviceRules(r: Rendering, table: TableName): string[] {
  return [...r[table].values()].flat().filter((l) => !BOILERPLATE.has(l));
}

// ns1/svc1: a ClusterIP Service with two endpoints, one on this node and one elsewhere.
const svc1 = service("ns1", "svc1", { clusterIP: "10.96.0.1", ports: [{ name: "p80", port: 80, protocol: "TCP" }] });
const svc1Slice = (...ips: [string, string][]) =>
  slice("ns1", "svc1", "svc1-abc", [{ name: "p80", port: 8080, protocol: "TCP" }], ips.map(([ip, n]) => endpoint(ip, n)));
// ns2/svc2: a NodePort Service with one endpoint.
const svc2 = service("ns2", "svc2", { type: "NodePort", clusterIP: "10.96.0.2", ports: [{ name: "p80", port: 80, protocol: "TCP", nodePort: 30001 }] });
const svc2Slice = slice("ns2", "svc2", "svc2-abc", [{ name: "p80", port: 80, protocol: "TCP" }], [endpoint("10.244.0.5")]);

describe("chain names", () => {
  it("are the prefix plus 16 base32 characters of sha256(port name + protocol [+ endpoint]), as upstream's", () => {
    // Upstream's own test fixtures use these names for these inputs.
    expect(serviceChain("ns1/svc1:p80", "tcp")).toBe("KUBE-SVC-XPGD46QRK7WJZT7O");
    expect(endpointChain("ns1/svc1:p80", "tcp", "10.180.0.1:80")).toBe("KUBE-SEP-SXIVWICOYRO3J4NJ");
    expect(externalChain("ns2/svc2:p80", "tcp")).toBe("KUBE-EXT-GNZBNJ2PO5MGZ6GT");
    // The chain made by hand on this machine (node-anchors §6).
    expect(serviceChain("default/web:http", "tcp")).toBe("KUBE-SVC-CDGGSHYLG3RE2FKL");
  });

  it("probabilities are 1/n with ten decimals", () => {
    expect(probability(2)).toBe("0.5000000000");
    expect(probability(3)).toBe("0.3333333333");
    expect(probability(7)).toBe("0.1428571429");
  });
});

describe("render", () => {
  it("a ClusterIP Service with two endpoints: the whole restore input", () => {
    const { rendering, warnings } = render([svc1], [svc1Slice(["10.244.1.3", "node-b"], ["10.244.0.2", "node-a"])], node);
    expect(warnings).toEqual([]);
    expect(fullRestoreText(rendering)).toBe(`*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
:KUBE-SEP-37I6R7WO37UY3VGK - [0:0]
:KUBE-SEP-U2BF2LENKUUQ43DM - [0:0]
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
${LAST_NODEPORTS}
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.0.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-37I6R7WO37UY3VGK
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.3:8080" -j KUBE-SEP-U2BF2LENKUUQ43DM
-A KUBE-SEP-37I6R7WO37UY3VGK -m comment --comment ns1/svc1:p80 -s 10.244.0.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-37I6R7WO37UY3VGK -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.244.0.2:8080
-A KUBE-SEP-U2BF2LENKUUQ43DM -m comment --comment ns1/svc1:p80 -s 10.244.1.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-U2BF2LENKUUQ43DM -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:8080
COMMIT
*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`);
  });

  it("three endpoints get probabilities 1/3, 1/2, then an unconditional jump", () => {
    const { rendering } = render([svc1], [svc1Slice(["10.244.0.2", "node-a"], ["10.244.0.3", "node-a"], ["10.244.0.4", "node-a"])], node);
    const svcRules = rendering.nat.get("KUBE-SVC-XPGD46QRK7WJZT7O")!;
    expect(svcRules.slice(1).map((l) => /--probability (\S+)/.exec(l)?.[1] ?? "always")).toEqual(["0.3333333333", "0.5000000000", "always"]);
  });

  it("without a cluster CIDR there is no masquerade rule for outside sources", () => {
    const { rendering } = render([svc1], [svc1Slice(["10.244.0.2", "node-a"])], { nodeName: "node-a" });
    expect(rendering.nat.get("KUBE-SVC-XPGD46QRK7WJZT7O")).toEqual([
      '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.0.2:8080" -j KUBE-SEP-37I6R7WO37UY3VGK',
    ]);
  });

  it("a NodePort Service: KUBE-NODEPORTS jumps to KUBE-EXT, which masquerades and goes to KUBE-SVC", () => {
    const { rendering } = render([svc2], [svc2Slice], node);
    expect(serviceRules(rendering, "nat")).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 10.96.0.2 --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT',
      "-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 30001 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT",
      '-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 10.96.0.2 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
      '-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.244.0.5:80" -j KUBE-SEP-JCO3LCMLUPUUWJT3',
      '-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "masquerade traffic for ns2/svc2:p80 external destinations" -j KUBE-MARK-MASQ',
      "-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -j KUBE-SVC-GNZBNJ2PO5MGZ6GT",
      "-A KUBE-SEP-JCO3LCMLUPUUWJT3 -m comment --comment ns2/svc2:p80 -s 10.244.0.5 -j KUBE-MARK-MASQ",
      "-A KUBE-SEP-JCO3LCMLUPUUWJT3 -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.244.0.5:80",
    ]);
    // The node-port jump stays the very last rule of KUBE-SERVICES.
    expect(rendering.nat.get("KUBE-SERVICES")!.at(-1)).toBe(LAST_NODEPORTS);
    expect(serviceRules(rendering, "filter")).toEqual([]);
  });

  it("a Service without ready endpoints: no nat chains, REJECT in filter for its ClusterIP and node port", () => {
    const svc3 = service("ns3", "svc3", { type: "NodePort", clusterIP: "10.96.0.3", ports: [{ port: 53, protocol: "UDP", nodePort: 30053 }] });
    const notReady = slice("ns3", "svc3", "svc3-abc", [{ port: 5353, protocol: "UDP" }], [endpoint("10.244.0.6", "node-a", false)]);
    const { rendering } = render([svc3], [notReady], node);
    expect(serviceRules(rendering, "nat")).toEqual([]);
    expect([...rendering.nat.keys()]).toEqual(["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]);
    expect(serviceRules(rendering, "filter")).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns3/svc3 has no endpoints" -m udp -p udp -d 10.96.0.3 --dport 53 -j REJECT',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns3/svc3 has no endpoints" -m addrtype --dst-type LOCAL -m udp -p udp --dport 30053 -j REJECT',
    ]);
  });

  it("sessionAffinity ClientIP: recent-list checks before the random jumps, and each endpoint records the client", () => {
    const svc4 = service("ns4", "svc4", {
      clusterIP: "10.96.0.4",
      sessionAffinity: "ClientIP",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
      ports: [{ port: 443, protocol: "TCP" }],
    });
    const s = slice("ns4", "svc4", "svc4-abc", [{ port: 8443, protocol: "TCP" }], [endpoint("10.244.0.7"), endpoint("10.244.0.8")]);
    const { rendering } = render([svc4], [s], node);
    expect(serviceRules(rendering, "nat")).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns4/svc4 cluster IP" -m tcp -p tcp -d 10.96.0.4 --dport 443 -j KUBE-SVC-3XH3VQKYCR6ZY7EU',
      '-A KUBE-SVC-3XH3VQKYCR6ZY7EU -m comment --comment "ns4/svc4 cluster IP" -m tcp -p tcp -d 10.96.0.4 --dport 443 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
      '-A KUBE-SVC-3XH3VQKYCR6ZY7EU -m comment --comment "ns4/svc4 -> 10.244.0.7:8443" -m recent --name KUBE-SEP-TAOY22SHEXCQQPBC --rcheck --seconds 600 --reap -j KUBE-SEP-TAOY22SHEXCQQPBC',
      '-A KUBE-SVC-3XH3VQKYCR6ZY7EU -m comment --comment "ns4/svc4 -> 10.244.0.8:8443" -m recent --name KUBE-SEP-AQM7GXM72JHXMRNV --rcheck --seconds 600 --reap -j KUBE-SEP-AQM7GXM72JHXMRNV',
      '-A KUBE-SVC-3XH3VQKYCR6ZY7EU -m comment --comment "ns4/svc4 -> 10.244.0.7:8443" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-TAOY22SHEXCQQPBC',
      '-A KUBE-SVC-3XH3VQKYCR6ZY7EU -m comment --comment "ns4/svc4 -> 10.244.0.8:8443" -j KUBE-SEP-AQM7GXM72JHXMRNV',
      "-A KUBE-SEP-TAOY22SHEXCQQPBC -m comment --comment ns4/svc4 -s 10.244.0.7 -j KUBE-MARK-MASQ",
      "-A KUBE-SEP-TAOY22SHEXCQQPBC -m comment --comment ns4/svc4 -m recent --name KUBE-SEP-TAOY22SHEXCQQPBC --set -m tcp -p tcp -j DNAT --to-destination 10.244.0.7:8443",
      "-A KUBE-SEP-AQM7GXM72JHXMRNV -m comment --comment ns4/svc4 -s 10.244.0.8 -j KUBE-MARK-MASQ",
      "-A KUBE-SEP-AQM7GXM72JHXMRNV -m comment --comment ns4/svc4 -m recent --name KUBE-SEP-AQM7GXM72JHXMRNV --set -m tcp -p tcp -j DNAT --to-destination 10.244.0.8:8443",
    ]);
  });

  it("sessionAffinity without a timeout uses upstream's 10800 s", () => {
    const s4 = service("ns4", "svc4", { clusterIP: "10.96.0.4", sessionAffinity: "ClientIP", ports: [{ port: 443, protocol: "TCP" }] });
    const s = slice("ns4", "svc4", "svc4-abc", [{ port: 8443, protocol: "TCP" }], [endpoint("10.244.0.7")]);
    expect(serviceRules(render([s4], [s], node).rendering, "nat").join("\n")).toContain("--rcheck --seconds 10800 --reap");
  });

  describe("externalTrafficPolicy Local", () => {
    const svc5 = service("ns5", "svc5", {
      type: "NodePort",
      externalTrafficPolicy: "Local",
      clusterIP: "10.96.0.5",
      ports: [{ name: "http", port: 80, protocol: "TCP", nodePort: 30080 }],
    });
    const s5 = slice("ns5", "svc5", "svc5-abc", [{ name: "http", port: 8080, protocol: "TCP" }], [endpoint("10.244.0.9", "node-a"), endpoint("10.244.1.9", "node-b")]);
    const EXT = [
      '-A KUBE-EXT-D5CO4U2L2MPIOHKF -m comment --comment "pod traffic for ns5/svc5:http external destinations" -s 10.244.0.0/16 -j KUBE-SVC-D5CO4U2L2MPIOHKF',
      '-A KUBE-EXT-D5CO4U2L2MPIOHKF -m comment --comment "masquerade LOCAL traffic for ns5/svc5:http external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
      '-A KUBE-EXT-D5CO4U2L2MPIOHKF -m comment --comment "route LOCAL traffic for ns5/svc5:http external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-D5CO4U2L2MPIOHKF',
    ];

    it("outside traffic goes only to this node's endpoints, unmasqueraded; pods and the node may use all", () => {
      const { rendering } = render([svc5], [s5], node);
      expect(rendering.nat.get("KUBE-EXT-D5CO4U2L2MPIOHKF")).toEqual([...EXT, "-A KUBE-EXT-D5CO4U2L2MPIOHKF -j KUBE-SVL-D5CO4U2L2MPIOHKF"]);
      expect(rendering.nat.get("KUBE-SVL-D5CO4U2L2MPIOHKF")).toEqual([
        '-A KUBE-SVL-D5CO4U2L2MPIOHKF -m comment --comment "ns5/svc5:http -> 10.244.0.9:8080" -j KUBE-SEP-VVK7MRIMY6Z3NH3T',
      ]);
      // The cluster chain keeps both endpoints for ClusterIP traffic.
      expect(rendering.nat.get("KUBE-SVC-D5CO4U2L2MPIOHKF")!.slice(1)).toEqual([
        '-A KUBE-SVC-D5CO4U2L2MPIOHKF -m comment --comment "ns5/svc5:http -> 10.244.0.9:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-VVK7MRIMY6Z3NH3T',
        '-A KUBE-SVC-D5CO4U2L2MPIOHKF -m comment --comment "ns5/svc5:http -> 10.244.1.9:8080" -j KUBE-SEP-X4TIXHBXENPBMB7M',
      ]);
      expect(serviceRules(rendering, "nat").some((l) => l.includes("masquerade traffic for"))).toBe(false);
      expect(serviceRules(rendering, "filter")).toEqual([]);
    });

    it("with no endpoint on this node, outside traffic is left un-NATed and dropped in filter", () => {
      const { rendering } = render([svc5], [s5], { ...node, nodeName: "node-c" });
      expect(rendering.nat.get("KUBE-EXT-D5CO4U2L2MPIOHKF")).toEqual(EXT);
      expect(rendering.nat.has("KUBE-SVL-D5CO4U2L2MPIOHKF")).toBe(false);
      expect(serviceRules(rendering, "filter")).toEqual([
        '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns5/svc5:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j DROP',
      ]);
    });
  });

  describe("internalTrafficPolicy Local", () => {
    const svc8 = service("ns8", "svc8", { clusterIP: "10.96.0.8", internalTrafficPolicy: "Local", ports: [{ name: "http", port: 80, protocol: "TCP" }] });
    const s8 = slice("ns8", "svc8", "svc8-abc", [{ name: "http", port: 8080, protocol: "TCP" }], [endpoint("10.244.0.8", "node-a"), endpoint("10.244.1.8", "node-b")]);
    const svl = localChain("ns8/svc8:http", "tcp");

    it("the cluster IP leads to this node's endpoints only, through KUBE-SVL", () => {
      const { rendering } = render([svc8], [s8], node);
      const nat = serviceRules(rendering, "nat");
      expect(nat).toContain(`-A KUBE-SERVICES -m comment --comment "ns8/svc8:http cluster IP" -m tcp -p tcp -d 10.96.0.8 --dport 80 -j ${svl}`);
      expect(rendering.nat.get(svl)).toEqual([
        `-A ${svl} -m comment --comment "ns8/svc8:http cluster IP" -m tcp -p tcp -d 10.96.0.8 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`,
        `-A ${svl} -m comment --comment "ns8/svc8:http -> 10.244.0.8:8080" -j ${endpointChain("ns8/svc8:http", "tcp", "10.244.0.8:8080")}`,
      ]);
      // no cluster-wide chain, and no chain for the other node's endpoint
      expect(rendering.nat.has(serviceChain("ns8/svc8:http", "tcp"))).toBe(false);
      expect(rendering.nat.has(endpointChain("ns8/svc8:http", "tcp", "10.244.1.8:8080"))).toBe(false);
      expect(serviceRules(rendering, "filter")).toEqual([]);
    });

    it("with no endpoint on this node, traffic to the cluster IP is dropped (not rejected: endpoints exist elsewhere)", () => {
      const { rendering } = render([svc8], [s8], { ...node, nodeName: "node-c" });
      expect(serviceRules(rendering, "nat")).toEqual([]);
      expect(serviceRules(rendering, "filter")).toEqual([
        '-A KUBE-SERVICES -m comment --comment "ns8/svc8:http has no local endpoints" -m tcp -p tcp -d 10.96.0.8 --dport 80 -j DROP',
      ]);
    });
  });

  describe("external IPs and load-balancer IPs", () => {
    const ports = [{ name: "http", port: 80, protocol: "TCP" }];
    const eps = slice("ns9", "web", "web-abc", [{ name: "http", port: 8080, protocol: "TCP" }], [endpoint("10.244.0.10", "node-a")]);
    const spn = "ns9/web:http";
    const ext = externalChain(spn, "tcp");
    const svc = serviceChain(spn, "tcp");

    it("spec.externalIPs: KUBE-SERVICES sends the IP's port to KUBE-EXT, which masquerades and goes to KUBE-SVC", () => {
      const web = service("ns9", "web", { clusterIP: "10.96.0.9", externalIPs: ["192.0.2.10"], ports });
      const { rendering, warnings } = render([web], [eps], node);
      expect(warnings).toEqual([]);
      expect(serviceRules(rendering, "nat")).toContain(`-A KUBE-SERVICES -m comment --comment "${spn} external IP" -m tcp -p tcp -d 192.0.2.10 --dport 80 -j ${ext}`);
      expect(rendering.nat.get(ext)).toEqual([
        `-A ${ext} -m comment --comment "masquerade traffic for ${spn} external destinations" -j KUBE-MARK-MASQ`,
        `-A ${ext} -j ${svc}`,
      ]);
      // without endpoints the external IP is refused like the cluster IP
      expect(serviceRules(render([web], [], node).rendering, "filter")).toEqual([
        `-A KUBE-SERVICES -m comment --comment "${spn} has no endpoints" -m tcp -p tcp -d 10.96.0.9 --dport 80 -j REJECT`,
        `-A KUBE-EXTERNAL-SERVICES -m comment --comment "${spn} has no endpoints" -m tcp -p tcp -d 192.0.2.10 --dport 80 -j REJECT`,
      ]);
    });

    it("externalTrafficPolicy Local with an external IP and no local endpoint drops outside traffic to that IP", () => {
      const web = service("ns9", "web", { clusterIP: "10.96.0.9", externalIPs: ["192.0.2.10"], externalTrafficPolicy: "Local", ports });
      const { rendering } = render([web], [eps], { ...node, nodeName: "node-b" });
      expect(serviceRules(rendering, "filter")).toEqual([
        `-A KUBE-EXTERNAL-SERVICES -m comment --comment "${spn} has no local endpoints" -m tcp -p tcp -d 192.0.2.10 --dport 80 -j DROP`,
      ]);
      expect(rendering.nat.get(ext)?.some((r) => r.endsWith(`-j ${localChain(spn, "tcp")}`))).toBe(false);
    });

    it("a LoadBalancer's ingress IPs, filtered by loadBalancerSourceRanges through KUBE-FW and KUBE-PROXY-FIREWALL", () => {
      const lb = service("ns9", "web", {
        type: "LoadBalancer",
        clusterIP: "10.96.0.9",
        loadBalancerSourceRanges: ["203.0.113.0/24", "bogus"],
        ports: [{ name: "http", port: 80, protocol: "TCP", nodePort: 30090 }],
      });
      lb.status = { loadBalancer: { ingress: [{ ip: "192.0.2.20" }, { ip: "192.0.2.21", ipMode: "Proxy" }, { hostname: "lb.example" }, { ip: "fe80::1" }] } };
      const { rendering, warnings } = render([lb], [eps], node);
      const fw = firewallChain(spn, "tcp");
      expect(serviceRules(rendering, "nat")).toContain(`-A KUBE-SERVICES -m comment --comment "${spn} loadbalancer IP" -m tcp -p tcp -d 192.0.2.20 --dport 80 -j ${fw}`);
      // ipMode Proxy: the load balancer proxies to the node, so the node must not take the IP over
      expect(serviceRules(rendering, "nat").join("\n")).not.toContain("192.0.2.21");
      expect(rendering.nat.get(fw)).toEqual([
        `-A ${fw} -m comment --comment "${spn} loadbalancer IP" -s 203.0.113.0/24 -j ${ext}`,
        `-A ${fw} -m comment --comment "other traffic to ${spn} will be dropped by KUBE-PROXY-FIREWALL"`,
      ]);
      expect(rendering.filter.get("KUBE-PROXY-FIREWALL")).toEqual([
        `-A KUBE-PROXY-FIREWALL -m comment --comment "${spn} traffic not accepted by ${fw}" -m tcp -p tcp -d 192.0.2.20 --dport 80 -j DROP`,
      ]);
      expect(warnings).toEqual([
        'service ns9/web: load-balancer ingress IP "fe80::1" is not an IPv4 address, ignored',
        'service ns9/web: loadBalancerSourceRange "bogus" is not an IPv4 CIDR, ignored',
      ]);
      // and the restore text is valid order-wise: KUBE-FW is declared with the other chains
      expect(fullRestoreText(rendering)).toContain(`:${fw} - [0:0]`);
    });
  });

  describe("terminating endpoints", () => {
    const svc10 = service("ns10", "svc10", { clusterIP: "10.96.0.10", ports: [{ port: 80, protocol: "TCP" }] });
    const ep = (ip: string, ready: boolean, serving: boolean, terminating: boolean) => ({ addresses: [ip], nodeName: "node-a", conditions: { ready, serving, terminating } });
    const dnat = (r: Rendering) => serviceRules(r, "nat").filter((l) => l.includes("DNAT")).map((l) => l.split("--to-destination ")[1]);

    it("are left out while any endpoint is ready", () => {
      const s = slice("ns10", "svc10", "a", [{ port: 8080, protocol: "TCP" }], [ep("10.244.0.20", true, true, false), ep("10.244.0.21", false, true, true)]);
      expect(dnat(render([svc10], [s], node).rendering)).toEqual(["10.244.0.20:8080"]);
    });

    it("still serving ones take the traffic when none is ready (the last pod of a rollout finishes its work)", () => {
      const s = slice("ns10", "svc10", "a", [{ port: 8080, protocol: "TCP" }], [ep("10.244.0.21", false, true, true), ep("10.244.0.22", false, false, true)]);
      const { rendering } = render([svc10], [s], node);
      expect(dnat(rendering)).toEqual(["10.244.0.21:8080"]);
      expect(serviceRules(rendering, "filter")).toEqual([]);
    });

    it("no longer serving ones count as no endpoint at all", () => {
      const s = slice("ns10", "svc10", "a", [{ port: 8080, protocol: "TCP" }], [ep("10.244.0.22", false, false, true)]);
      expect(serviceRules(render([svc10], [s], node).rendering, "filter")).toEqual([
        '-A KUBE-SERVICES -m comment --comment "ns10/svc10 has no endpoints" -m tcp -p tcp -d 10.96.0.10 --dport 80 -j REJECT',
      ]);
    });
  });

  it("headless and ExternalName Services get no rules at all", () => {
    const headless = service("ns7", "db", { clusterIP: "None", ports: [{ port: 5432, protocol: "TCP" }] });
    const ext = service("ns7", "ext", { type: "ExternalName", ports: [{ port: 80, protocol: "TCP" }] });
    const s = slice("ns7", "db", "db-abc", [{ port: 5432, protocol: "TCP" }], [endpoint("10.244.0.11")]);
    const { rendering, warnings } = render([headless, ext], [s], node);
    expect(serviceRules(rendering, "nat")).toEqual([]);
    expect(serviceRules(rendering, "filter")).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it("named, multiple ports: one chain per port, endpoints matched by port name and protocol", () => {
    const multi = service("ns6", "multi", {
      clusterIP: "10.96.0.6",
      ports: [
        { name: "http", port: 80, protocol: "TCP" },
        { name: "dns", port: 53, protocol: "UDP" },
      ],
    });
    const s = slice(
      "ns6",
      "multi",
      "multi-abc",
      [
        { name: "dns", port: 5353, protocol: "UDP" },
        { name: "http", port: 8080, protocol: "TCP" },
      ],
      [endpoint("10.244.0.10")],
    );
    const { rendering } = render([multi], [s], node);
    expect(serviceRules(rendering, "nat")).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns6/multi:dns cluster IP" -m udp -p udp -d 10.96.0.6 --dport 53 -j KUBE-SVC-VYQWEPMHY6NVF4TG',
      '-A KUBE-SERVICES -m comment --comment "ns6/multi:http cluster IP" -m tcp -p tcp -d 10.96.0.6 --dport 80 -j KUBE-SVC-4GDXPZDR7T4DFPGM',
      '-A KUBE-SVC-VYQWEPMHY6NVF4TG -m comment --comment "ns6/multi:dns cluster IP" -m udp -p udp -d 10.96.0.6 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
      '-A KUBE-SVC-VYQWEPMHY6NVF4TG -m comment --comment "ns6/multi:dns -> 10.244.0.10:5353" -j KUBE-SEP-D66SIHTI6UY5SYLD',
      "-A KUBE-SEP-D66SIHTI6UY5SYLD -m comment --comment ns6/multi:dns -s 10.244.0.10 -j KUBE-MARK-MASQ",
      "-A KUBE-SEP-D66SIHTI6UY5SYLD -m comment --comment ns6/multi:dns -m udp -p udp -j DNAT --to-destination 10.244.0.10:5353",
      '-A KUBE-SVC-4GDXPZDR7T4DFPGM -m comment --comment "ns6/multi:http cluster IP" -m tcp -p tcp -d 10.96.0.6 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
      '-A KUBE-SVC-4GDXPZDR7T4DFPGM -m comment --comment "ns6/multi:http -> 10.244.0.10:8080" -j KUBE-SEP-FDGZGYTIEJOCPB2O',
      "-A KUBE-SEP-FDGZGYTIEJOCPB2O -m comment --comment ns6/multi:http -s 10.244.0.10 -j KUBE-MARK-MASQ",
      "-A KUBE-SEP-FDGZGYTIEJOCPB2O -m comment --comment ns6/multi:http -m tcp -p tcp -j DNAT --to-destination 10.244.0.10:8080",
    ]);
  });

  it("merges a Service's slices, drops duplicates and not-ready endpoints, ignores other Services' slices", () => {
    const a = svc1Slice(["10.244.0.2", "node-a"]);
    const b = { ...svc1Slice(["10.244.0.2", "node-a"], ["10.244.0.3", "node-a"]), metadata: { ...a.metadata, name: "svc1-def" } };
    b.endpoints!.push(endpoint("10.244.0.4", "node-a", false));
    const other = slice("ns1", "other", "other-abc", [{ name: "p80", port: 8080, protocol: "TCP" }], [endpoint("10.244.9.9")]);
    const { rendering } = render([svc1], [a, b, other], node);
    const targets = rendering.nat.get("KUBE-SVC-XPGD46QRK7WJZT7O")!.slice(1).map((l) => /"ns1\/svc1:p80 -> (\S+)"/.exec(l)![1]);
    expect(targets).toEqual(["10.244.0.2:8080", "10.244.0.3:8080"]);
  });

  it("leaves out malformed Services and endpoints with a warning, and refuses a bad cluster CIDR", () => {
    const bad = [
      service("ns1", "v6", { clusterIP: "fd00::1", ports: [{ port: 80, protocol: "TCP" }] }),
      service("ns1", "badport", { clusterIP: "10.96.0.9", ports: [{ port: 70000, protocol: "TCP" }] }),
      service("ns1", 'x" -j ACCEPT', { clusterIP: "10.96.0.8", ports: [{ port: 80, protocol: "TCP" }] }),
      service("ns1", "proto", { clusterIP: "10.96.0.7", ports: [{ port: 80, protocol: "ICMP" }] }),
    ];
    const badEp = slice("ns1", "svc1", "svc1-abc", [{ name: "p80", port: 8080, protocol: "TCP" }], [{ addresses: ["not-an-ip"] }]);
    const { rendering, warnings } = render([...bad, svc1], [badEp], node);
    expect(warnings).toHaveLength(5);
    expect(serviceRules(rendering, "nat")).toEqual([]);
    // svc1 is kept and, having no usable endpoint, rejected.
    expect(serviceRules(rendering, "filter")).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 10.96.0.1 --dport 80 -j REJECT',
    ]);
    expect(() => render([], [], { nodeName: "n", clusterCIDR: "10.244.0.0" })).toThrow(/not an IPv4 CIDR/);
  });
});

describe("restore text", () => {
  const before = render([svc1, svc2], [svc1Slice(["10.244.0.2", "node-a"], ["10.244.1.3", "node-b"]), svc2Slice], node).rendering;

  it("partial sync after one Service's endpoints change: only its chains, old endpoint chain deleted", () => {
    const after = render([svc1, svc2], [svc1Slice(["10.244.0.2", "node-a"], ["10.244.1.4", "node-b"]), svc2Slice], node).rendering;
    expect(partialRestoreText(before, after)).toBe(`*nat
:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
:KUBE-SEP-7BN45KXY5J47PSKU - [0:0]
:KUBE-SEP-U2BF2LENKUUQ43DM - [0:0]
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.0.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-37I6R7WO37UY3VGK
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.4:8080" -j KUBE-SEP-7BN45KXY5J47PSKU
-A KUBE-SEP-7BN45KXY5J47PSKU -m comment --comment ns1/svc1:p80 -s 10.244.1.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-7BN45KXY5J47PSKU -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.244.1.4:8080
-X KUBE-SEP-U2BF2LENKUUQ43DM
COMMIT
`);
  });

  it("partial sync when a Service loses all endpoints: KUBE-SERVICES rewritten in both tables, its chains deleted", () => {
    const after = render([svc1, svc2], [svc2Slice], node).rendering;
    expect(partialRestoreText(before, after)).toBe(`*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
:KUBE-SEP-37I6R7WO37UY3VGK - [0:0]
:KUBE-SEP-U2BF2LENKUUQ43DM - [0:0]
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 10.96.0.2 --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
${LAST_NODEPORTS}
-X KUBE-SVC-XPGD46QRK7WJZT7O
-X KUBE-SEP-37I6R7WO37UY3VGK
-X KUBE-SEP-U2BF2LENKUUQ43DM
COMMIT
*filter
:KUBE-SERVICES - [0:0]
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 10.96.0.1 --dport 80 -j REJECT
COMMIT
`);
  });

  it("partial sync with no change is empty", () => {
    const same = render([svc2, svc1], [svc2Slice, svc1Slice(["10.244.1.3", "node-b"], ["10.244.0.2", "node-a"])], node).rendering;
    expect(partialRestoreText(before, same)).toBe("");
  });

  it("full sync deletes stale per-Service chains found on the host, never other KUBE-* chains", () => {
    const text = fullRestoreText(before, { nat: ["KUBE-SVC-OLDOLDOLDOLDOLD1", "KUBE-MARK-DROP", "KUBE-SERVICES"], filter: ["KUBE-FIREWALL", "KUBE-SEP-OLDOLDOLDOLDOLD2"] });
    const lines = text.split("\n");
    expect(lines).toContain(":KUBE-SVC-OLDOLDOLDOLDOLD1 - [0:0]");
    expect(lines).toContain("-X KUBE-SVC-OLDOLDOLDOLDOLD1");
    expect(lines).toContain("-X KUBE-SEP-OLDOLDOLDOLDOLD2");
    expect(text).not.toContain("KUBE-MARK-DROP");
    expect(text).not.toContain("KUBE-FIREWALL");
    expect(lines.filter((l) => l.startsWith("-X"))).toHaveLength(2);
    // -X comes after every rule of its table, just before COMMIT.
    const nat = lines.slice(0, lines.indexOf("COMMIT"));
    expect(nat.at(-1)).toBe("-X KUBE-SVC-OLDOLDOLDOLDOLD1");
  });
});

describe("full sync in batches", () => {
  // 40 Services × 2 endpoints: 3 chains each in nat, plus the fixed ones.
  const many = Array.from({ length: 40 }, (_, i) => service("big", `s${i}`, { clusterIP: `10.96.1.${i + 1}`, ports: [{ name: "http", port: 80, protocol: "TCP" }] }));
  const slices = many.map((s, i) =>
    slice("big", s.metadata.name ?? "", `${s.metadata.name}-x`, [{ name: "http", port: 8080, protocol: "TCP" }], [endpoint(`10.244.2.${2 * i + 1}`), endpoint(`10.244.2.${2 * i + 2}`)]),
  );
  const r = render(many, slices, node).rendering;

  it("gives the single full restore when the rendering is small", () => {
    expect(fullRestoreBatches(r, {}, 10_000)).toEqual([fullRestoreText(r)]);
  });

  it("declares every chain before (or with) the first rule that jumps to it, and switches the entry chains last", () => {
    const batches = fullRestoreBatches(r, { nat: ["KUBE-SVC-GONE0000000000000", "KUBE-SERVICES"] }, 25);
    expect(batches.length).toBeGreaterThan(4);
    const declared = new Set<string>();
    const writtenRules: string[] = [];
    batches.forEach((text, i) => {
      const table = /^\*(\w+)/.exec(text)![1]!;
      for (const m of text.matchAll(/^:(\S+) - \[0:0\]$/gm)) declared.add(`${table}/${m[1]}`);
      for (const m of text.matchAll(/^-A (\S+) .* -[jg] (KUBE-\S+)/gm)) {
        expect(declared.has(`${table}/${m[2]}`), `batch ${i}: ${m[1]} jumps to ${m[2]} before it exists`).toBe(true);
      }
      writtenRules.push(...text.split("\n").filter((l) => l.startsWith("-A ")));
      // at most 25 chains declared per batch, besides the stale one in the last nat batch
      expect([...text.matchAll(/^:/gm)].length).toBeLessThanOrEqual(26);
    });
    // the same rules as one full restore, none lost or doubled
    expect(writtenRules.sort()).toEqual(fullRestoreText(r).split("\n").filter((l) => l.startsWith("-A ")).sort());
    // the stale chain goes in the last nat batch, after KUBE-SERVICES stopped pointing at it
    const natBatches = batches.filter((b) => b.startsWith("*nat"));
    expect(natBatches.at(-1)).toContain("-X KUBE-SVC-GONE0000000000000");
    expect(natBatches.at(-1)).toContain(":KUBE-SERVICES - [0:0]");
    expect(natBatches.slice(0, -1).some((b) => b.includes("-X "))).toBe(false);
  });
});

describe("render cache", () => {
  it("gives the same rules as a fresh render, and reuses unchanged Services' chains", () => {
    const cache = new Map();
    const s1 = [svc1Slice(["10.244.0.2", "node-a"], ["10.244.1.3", "node-b"]), svc2Slice];
    const a = render([svc1, svc2], s1, node, cache).rendering;
    const s2 = [svc1Slice(["10.244.0.2", "node-a"]), svc2Slice];
    const b = render([svc1, svc2], s2, node, cache).rendering;
    const fresh = render([svc1, svc2], s2, node).rendering;
    expect(fullRestoreText(b)).toBe(fullRestoreText(fresh));
    expect(b.nat.get("KUBE-SVC-GNZBNJ2PO5MGZ6GT")).toBe(a.nat.get("KUBE-SVC-GNZBNJ2PO5MGZ6GT"));
    expect(b.nat.get("KUBE-SVC-XPGD46QRK7WJZT7O")).not.toEqual(a.nat.get("KUBE-SVC-XPGD46QRK7WJZT7O"));
    expect(cache.size).toBe(2);
  });
});
