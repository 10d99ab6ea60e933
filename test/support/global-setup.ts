// Test support (Book 6.3): test files that build pod networks run in parallel, and each restores the
// host as it found it; the whole run restores ip_forward and iptables-nft's tables to how they were
// before the first file started, whichever file finishes last.
import { snapshotHostNet } from "./host-net.js";

export default function setup(): () => void {
  const isRoot = process.getuid?.() === 0 && process.platform === "linux";
  if (!isRoot) return () => undefined;
  const restore = snapshotHostNet();
  return () => restore();
}
