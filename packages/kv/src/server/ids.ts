// Book 12.9: how members and clusters get their ids. As in etcd, a member's id is a hash of its
// peer URLs and the cluster token (plus a time for members added later), so a restarted member
// or a newly started joiner can recognise itself.
import { createHash } from "node:crypto";

function hash64(parts: string[]): string {
  const h = createHash("sha1").update(parts.join("\n")).digest();
  let v = h.readBigUInt64BE(0);
  if (v === 0n) v = 1n;
  return v.toString();
}

export function memberIdFor(peerURLs: string[], token: string, salt = ""): string {
  return hash64([...[...peerURLs].sort(), token, salt]);
}

export function clusterIdFor(memberIds: string[], token: string): string {
  return hash64([...[...memberIds].sort(), token]);
}

export function toHex(id: string): string {
  return BigInt(id).toString(16);
}

/** Accepts a decimal or hex (as etcdctl prints) member or lease id. */
export function parseId(s: string): string {
  const t = s.trim();
  if (/^[0-9]+$/.test(t)) return BigInt(t).toString();
  if (/^(0x)?[0-9a-fA-F]+$/.test(t)) return BigInt(t.startsWith("0x") ? t : "0x" + t).toString();
  throw new Error(`not an id: ${JSON.stringify(s)} (expected decimal or hex digits)`);
}
