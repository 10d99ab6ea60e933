// Book 11.2.3-11.2.4: the NodeAffinity plugin: nodeSelector and required node affinity decide where a pod
// may go (Filter); preferred terms add their weights to the nodes they match (Score).
import type { Node, NodeAffinity as NodeAffinitySpec, NodeSelectorRequirement, NodeSelectorTerm, Pod } from "@corekube/api";
import type { NodeInfo } from "../framework/node-info.js";
import {
  Action,
  type ClusterEventWithHint,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type MaybeStatus,
  MAX_NODE_SCORE,
  type NodeScore,
  type PluginFactory,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type QueueingHint,
  type ScorePlugin,
  errorStatus,
  skipStatus,
  unresolvable,
} from "../framework/types.js";
import { anyTermMatches, podMatchesNodeSelectorAndAffinity, termMatches } from "./helpers/node-selector.js";
import { defaultNormalizeScore } from "./helpers/normalize.js";

export const NODE_AFFINITY = "NodeAffinity";

export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";
export const ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity";
export const ERR_REASON_CONFLICT = "pod affinity terms conflict";

const PRE_SCORE_KEY = `PreScore${NODE_AFFINITY}`;

/** The plugin's args: node affinity the scheduler adds to every pod of this profile. */
export interface NodeAffinityArgs {
  addedAffinity?: NodeAffinitySpec;
}

// ---- args checking (the rules the API server applies to node selector terms) ----

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkRequirement(r: NodeSelectorRequirement, path: string, field: boolean): string | null {
  if (typeof r !== "object" || r === null) return `${path}: must be an object {key, operator, values}`;
  const values = r.values ?? [];
  if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) return `${path}.values: must be a list of strings`;
  if (field) {
    if (r.key !== "metadata.name") return `${path}.key: "${r.key}" is not a supported field (only metadata.name)`;
    if (r.operator !== "In" && r.operator !== "NotIn") return `${path}.operator: "${r.operator}" is not supported for fields (In, NotIn)`;
    if (values.length !== 1) return `${path}.values: must have one element`;
    return null;
  }
  if (typeof r.key !== "string" || r.key.length > 316 || !QUALIFIED_NAME.test(r.key)) return `${path}.key: "${String(r.key)}" is not a valid label key`;
  switch (r.operator) {
    case "In":
    case "NotIn":
      if (values.length === 0) return `${path}.values: must be non-empty for operator ${r.operator}`;
      break;
    case "Exists":
    case "DoesNotExist":
      if (values.length !== 0) return `${path}.values: must be empty for operator ${r.operator}`;
      break;
    case "Gt":
    case "Lt":
      if (values.length !== 1 || !/^-?\d+$/.test(values[0]!)) return `${path}.values: operator ${r.operator} needs a single integer value`;
      break;
    default:
      return `${path}.operator: "${String(r.operator)}" is not a valid operator`;
  }
  for (const v of values) if (v.length > 63 || !LABEL_VALUE.test(v)) return `${path}.values: "${v}" is not a valid label value`;
  return null;
}

function checkTerm(t: NodeSelectorTerm, path: string): string | null {
  if (typeof t !== "object" || t === null) return `${path}: must be an object {matchExpressions, matchFields}`;
  for (const [i, r] of (t.matchExpressions ?? []).entries()) {
    const err = checkRequirement(r, `${path}.matchExpressions[${i}]`, false);
    if (err) return err;
  }
  for (const [i, r] of (t.matchFields ?? []).entries()) {
    const err = checkRequirement(r, `${path}.matchFields[${i}]`, true);
    if (err) return err;
  }
  return null;
}

/** Checks raw args; throws an Error naming the bad field. */
export function parseNodeAffinityArgs(raw: Record<string, unknown> | undefined): NodeAffinityArgs {
  const fail = (msg: string) => new Error(`${NODE_AFFINITY} args: ${msg}`);
  const added = raw?.addedAffinity;
  if (added === undefined || added === null) return {};
  if (typeof added !== "object" || Array.isArray(added)) throw fail("addedAffinity must be a NodeAffinity object");
  for (const k of Object.keys(added)) {
    if (k !== "requiredDuringSchedulingIgnoredDuringExecution" && k !== "preferredDuringSchedulingIgnoredDuringExecution")
      throw fail(`addedAffinity: unknown field "${k}" (want requiredDuringSchedulingIgnoredDuringExecution, preferredDuringSchedulingIgnoredDuringExecution)`);
  }
  const a = added as NodeAffinitySpec;
  const req = a.requiredDuringSchedulingIgnoredDuringExecution;
  if (req !== undefined) {
    const path = "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms";
    if (!Array.isArray(req?.nodeSelectorTerms) || req.nodeSelectorTerms.length === 0) throw fail(`${path}: must have at least one term`);
    for (const [i, t] of req.nodeSelectorTerms.entries()) {
      const err = checkTerm(t, `${path}[${i}]`);
      if (err) throw fail(err);
    }
  }
  const pref = a.preferredDuringSchedulingIgnoredDuringExecution;
  if (pref !== undefined) {
    const path = "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution";
    if (!Array.isArray(pref)) throw fail(`${path}: must be a list of {weight, preference}`);
    for (const [i, p] of pref.entries()) {
      if (typeof p?.weight !== "number" || !Number.isInteger(p.weight) || p.weight < 0 || p.weight > 100)
        throw fail(`${path}[${i}].weight: must be an integer in [0, 100]`);
      const err = checkTerm(p.preference, `${path}[${i}].preference`);
      if (err) throw fail(err);
    }
  }
  return { addedAffinity: a };
}

// ---- the plugin ----

interface WeightedTerm {
  weight: number;
  term: NodeSelectorTerm;
}

const weightedTerms = (prefs: NodeAffinitySpec["preferredDuringSchedulingIgnoredDuringExecution"]): WeightedTerm[] =>
  (prefs ?? []).filter((p) => p.weight !== 0).map((p) => ({ weight: p.weight, term: p.preference }));

function sumMatching(terms: readonly WeightedTerm[], node: Node): number {
  let sum = 0;
  for (const t of terms) if (termMatches(t.term, node)) sum += t.weight;
  return sum;
}

export class NodeAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = NODE_AFFINITY;
  /** Terms of addedAffinity's required part (ORed), or null when none. */
  private readonly addedRequired: readonly NodeSelectorTerm[] | null;
  private readonly addedPreferred: readonly WeightedTerm[];

  constructor(readonly args: NodeAffinityArgs) {
    const added = args.addedAffinity;
    this.addedRequired = added?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? null;
    this.addedPreferred = weightedTerms(added?.preferredDuringSchedulingIgnoredDuringExecution);
  }

  private matchesAdded(node: Node): boolean {
    return this.addedRequired === null || anyTermMatches(this.addedRequired, node);
  }

  /**
   * Skip when nothing constrains the pod. When every required term pins metadata.name with In, only
   * those nodes are worth filtering; terms whose pinned names cannot all hold at once leave none.
   */
  preFilter(_state: CycleState, pod: Pod, _nodes: readonly NodeInfo[]): { result?: PreFilterResult; status: MaybeStatus } {
    const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (!required && this.addedRequired === null && !pod.spec.nodeSelector) return { status: skipStatus() };
    const terms = required?.nodeSelectorTerms ?? [];
    if (terms.length === 0) return { status: null };
    const nodeNames = new Set<string>();
    for (const t of terms) {
      // Requirements inside a term are ANDed: intersect what each metadata.name In allows.
      let termNames: Set<string> | null = null;
      for (const f of t.matchFields ?? []) {
        if (f.key !== "metadata.name" || f.operator !== "In") continue;
        const allowed = new Set(f.values ?? []);
        if (termNames === null) {
          termNames = allowed;
        } else {
          for (const n of termNames) if (!allowed.has(n)) termNames.delete(n);
        }
      }
      // Terms are ORed: one term without a name pin lets every node through.
      if (termNames === null) return { status: null };
      for (const n of termNames) nodeNames.add(n);
    }
    if (nodeNames.size === 0) return { status: unresolvable(ERR_REASON_CONFLICT) };
    return { result: { nodeNames }, status: null };
  }

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    const node = nodeInfo.node;
    if (!node) return errorStatus(new Error("node not found"));
    if (!this.matchesAdded(node)) return unresolvable(ERR_REASON_ENFORCED);
    if (!podMatchesNodeSelectorAndAffinity(pod, node)) return unresolvable(ERR_REASON_POD);
    return null;
  }

  preScore(state: CycleState, pod: Pod, _nodes: readonly NodeInfo[]): MaybeStatus {
    const terms = weightedTerms(pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
    if (terms.length === 0 && this.addedPreferred.length === 0) return skipStatus();
    state.write(PRE_SCORE_KEY, terms);
    return null;
  }

  /** The sum of the weights of the preferred terms (the pod's and the added ones) this node matches. */
  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number {
    const node = nodeInfo.node;
    if (!node) throw new Error("node not found");
    const terms =
      state.read<WeightedTerm[]>(PRE_SCORE_KEY) ?? weightedTerms(pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
    return sumMatching(this.addedPreferred, node) + sumMatching(terms, node);
  }

  normalizeScore(_state: CycleState, _pod: Pod, scores: NodeScore[]): MaybeStatus {
    defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
    return null;
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [{ event: { resource: "Node", action: Action.Add | Action.UpdateNodeLabel }, hint: (pod, o, n) => this.isSchedulableAfterNodeChange(pod, o, n) }];
  }

  /** Worth a retry only when the node matches now and did not before (or is new). */
  private isSchedulableAfterNodeChange(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
    const modified = newObj as Node | null | undefined;
    if (!modified) return "Skip";
    if (!this.matchesAdded(modified) || !podMatchesNodeSelectorAndAffinity(pod, modified)) return "Skip";
    const original = oldObj as Node | null | undefined;
    if (!original) return "Queue";
    return podMatchesNodeSelectorAndAffinity(pod, original) ? "Skip" : "Queue";
  }
}

export const newNodeAffinity: PluginFactory = (args) => new NodeAffinity(parseNodeAffinityArgs(args));
