// Book 7.1: the downward API as the kubelet computes it: pod metadata (name, namespace, uid, labels,
// annotations) and a container's resource limits/requests scaled by a divisor, written as file text.
import { type Container, type Pod, type Quantity, parseQuantity } from "@corekube/api";
import type { ResourceFieldSelector } from "./types.js";

/** Go's strconv.Quote, which upstream uses for label and annotation values. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if ((c >= 0x80 && c < 0xa0) || c === 0xad || c === 0x2028 || c === 0x2029 || (c >= 0xd800 && c < 0xe000) || c === 0xfeff)
      out += c > 0xffff ? `\\U${c.toString(16).padStart(8, "0")}` : `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Labels or annotations as the downward API writes them: sorted `key="value"` lines, no final newline. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${goQuote(m![k]!)}`)
    .join("\n");
}

const SUBSCRIPT = /^metadata\.(labels|annotations)\['(.*)'\]$/;

/**
 * The text of a fieldRef. Volumes support metadata fields only; `forEnv` also allows the spec and
 * status fields upstream offers to environment variables.
 */
export function fieldRefValue(pod: Pod, fieldPath: string, forEnv = false): string {
  const md = pod.metadata;
  switch (fieldPath) {
    case "metadata.name":
      return md.name ?? "";
    case "metadata.namespace":
      return md.namespace ?? "default";
    case "metadata.uid":
      return md.uid ?? "";
    case "metadata.labels":
      return formatMap(md.labels);
    case "metadata.annotations":
      return formatMap(md.annotations);
  }
  const m = SUBSCRIPT.exec(fieldPath);
  if (m) {
    const map = m[1] === "labels" ? md.labels : md.annotations;
    return map?.[m[2]!] ?? "";
  }
  if (forEnv) {
    const spec = pod.spec as Record<string, unknown>;
    const status = (pod.status ?? {}) as Record<string, unknown>;
    switch (fieldPath) {
      case "spec.nodeName":
        return String(spec.nodeName ?? "");
      case "spec.serviceAccountName":
        return String(spec.serviceAccountName ?? "");
      case "status.hostIP":
        return String(status.hostIP ?? "");
      case "status.podIP":
        return String(status.podIP ?? "");
    }
  }
  throw new Error(`unsupported fieldRef fieldPath ${JSON.stringify(fieldPath)}${forEnv ? "" : " in a downwardAPI volume (supported: metadata.name, metadata.namespace, metadata.uid, metadata.labels, metadata.annotations)"}`);
}

/** Node allocatable amounts stand in for limits a container leaves unset, as upstream does. */
export type NodeAllocatable = Partial<Record<"cpu" | "memory" | "ephemeral-storage", string | number>>;

function findContainer(pod: Pod, name: string): Container | undefined {
  return [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? []), ...((pod.spec.ephemeralContainers as Container[] | undefined) ?? [])].find((c) => c.name === name);
}

function quantityOrZero(v: string | number | undefined, what: string): Quantity {
  if (v === undefined) return parseQuantity(0);
  try {
    return parseQuantity(v);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

/** ceil(a / b) for positive b, exact in bigint. */
function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b < a ? q + 1n : q;
}

/**
 * A resourceFieldRef's text: the container's limit or request divided by `divisor` (default 1),
 * rounded up. CPU divides in millicores (divisor "1m" gives millicores), the rest in whole units.
 */
export function resourceFieldValue(pod: Pod, ref: ResourceFieldSelector, allocatable: NodeAllocatable = {}): string {
  if (!ref.containerName) throw new Error(`resourceFieldRef ${JSON.stringify(ref.resource)} needs containerName in a downwardAPI volume`);
  const c = findContainer(pod, ref.containerName);
  if (!c) throw new Error(`resourceFieldRef: pod has no container ${JSON.stringify(ref.containerName)}`);
  const m = /^(limits|requests)\.(.+)$/.exec(ref.resource);
  if (!m) throw new Error(`unsupported container resource ${JSON.stringify(ref.resource)}`);
  const [, kind, name] = m as unknown as [string, "limits" | "requests", string];
  if (!["cpu", "memory", "ephemeral-storage"].includes(name) && !name.startsWith("hugepages-")) {
    throw new Error(`unsupported container resource ${JSON.stringify(ref.resource)}`);
  }
  const divisor = quantityOrZero(ref.divisor ?? "1", `divisor of ${ref.resource}`);
  if (divisor.sign() <= 0) throw new Error(`divisor of ${ref.resource} must be positive, got ${JSON.stringify(ref.divisor)}`);
  let raw = c.resources?.[kind]?.[name];
  if (raw === undefined && kind === "limits" && name in { cpu: 1, memory: 1, "ephemeral-storage": 1 }) {
    raw = allocatable[name as keyof NodeAllocatable];
  }
  const amount = quantityOrZero(raw, `${kind}.${name} of container ${JSON.stringify(c.name)}`);
  if (name === "cpu") {
    return String(ceilDiv(amount.scaledValue(-3), divisor.scaledValue(-3) || 1n));
  }
  return String(ceilDiv(amount.scaledValue(0), divisor.scaledValue(0) || 1n));
}

/**
 * Kubernetes' $(VAR) expansion: `$(NAME)` becomes mapping(NAME), `$$` becomes `$`, anything else
 * (an unknown name, an unclosed `$(`) stays as written. Unknown names are passed to `missing`.
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined, missing?: (name: string) => void): string {
  let out = "";
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (ch !== "$" || i + 1 >= input.length) {
      out += ch;
      i++;
      continue;
    }
    const next = input[i + 1]!;
    if (next === "$") {
      out += "$";
      i += 2;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = lookup(name);
      if (v === undefined) {
        missing?.(name);
        out += `$(${name})`;
      } else out += v;
      i = close + 1;
    } else {
      out += ch + next;
      i += 2;
    }
  }
  return out;
}
