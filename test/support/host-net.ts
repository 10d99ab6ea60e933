// Test support (Book 6.3): what pod networking changes on the host — ip_forward and the nft tables
// iptables-nft creates — recorded before a test and put back after it.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const tryRun = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return undefined;
  }
};

/** Records the host's forwarding switch and nft tables; the returned function restores them. */
export function snapshotHostNet(): () => void {
  const forward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
  const tables = tryRun("nft", ["list", "tables"]) ?? "";
  return () => {
    writeFileSync("/proc/sys/net/ipv4/ip_forward", forward);
    for (const table of ["mangle", "nat", "filter"]) {
      if (tables.includes(`table ip ${table}\n`)) continue;
      const rules = tryRun("iptables-save", ["-t", table]) ?? "";
      // Only a table that is empty again (no rules, no chains of ours) is dropped.
      if (/^-A |^:(?!PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING)/m.test(rules)) continue;
      tryRun("nft", ["delete", "table", "ip", table]);
    }
  };
}
