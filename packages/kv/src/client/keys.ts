// Book 12.10: key-range helpers in etcd's byte order (keys are latin1 "binary strings").
import type { Bytes } from "../types.js";

/** The range end that covers every key starting with `prefix` (etcd's GetPrefixRangeEnd):
 * the prefix with its last byte below 0xff incremented; "\0" (= to the end) if there is none. */
export function prefixEnd(prefix: Bytes): Bytes {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return "\0";
}

/** "\0" as a range end means "every key >= key" (etcd's --from-key). */
export const FROM_KEY: Bytes = "\0";

/** The request range for every key starting with `prefix`; the empty prefix means every key. */
export function prefixRange(prefix: Bytes): { key: Bytes; rangeEnd: Bytes } {
  return prefix === "" ? { key: "\0", rangeEnd: "\0" } : { key: prefix, rangeEnd: prefixEnd(prefix) };
}
