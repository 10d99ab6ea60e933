// Book 11.2.3: matching a pod's nodeSelector and node affinity terms against a node's labels and
// fields: terms are ORed, expressions inside a term ANDed, and matchFields may only name metadata.name.
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod } from "@corekube/api";

function parseIntStrict(v: string): number | undefined {
  return /^-?\d+$/.test(v) ? Number(v) : undefined;
}

/** One requirement against a map (labels or the node's fields). */
export function requirementMatches(req: NodeSelectorRequirement, values: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(values, req.key);
  const v = has ? values[req.key]! : undefined;
  const list = req.values ?? [];
  switch (req.operator) {
    case "In":
      return has && list.includes(v!);
    case "NotIn":
      return !has || !list.includes(v!);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      if (!has || list.length !== 1) return false;
      const actual = parseIntStrict(v!);
      const bound = parseIntStrict(list[0]!);
      if (actual === undefined || bound === undefined) return false;
      return req.operator === "Gt" ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

/** A term with no expressions and no fields matches nothing, as upstream. */
export function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  for (const e of exprs) if (!requirementMatches(e, labels)) return false;
  const nodeFields = { "metadata.name": node.metadata.name ?? "" };
  for (const f of fields) {
    if (f.key !== "metadata.name") return false;
    if (!requirementMatches(f, nodeFields)) return false;
  }
  return true;
}

export function anyTermMatches(terms: readonly NodeSelectorTerm[], node: Node): boolean {
  return terms.some((t) => termMatches(t, node));
}

/** The pod's spec.nodeSelector and required node affinity both hold on this node. */
export function podMatchesNodeSelectorAndAffinity(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required && !anyTermMatches(required.nodeSelectorTerms ?? [], node)) return false;
  return true;
}
