// Book 11.2.3-11.2.4: a stand-in for the framework handle in plugin unit tests: a fixed snapshot, a
// chosen list of PreFilter/Filter plugins, and an API client that only records what it was asked to do.
import type { Pod, PodDisruptionBudget, PriorityClass } from "@corekube/api";
import { type NodeInfo, PodInfo, type Snapshot, podKey } from "../framework/node-info.js";
import {
  Code,
  type CycleState,
  type FilterPlugin,
  type Handle,
  type MaybeStatus,
  type PodNominator,
  type PreemptionClient,
  type PreFilterExtensions,
  type PreFilterPlugin,
  isSuccess,
} from "../framework/types.js";

/** Nominated pods per node, kept in memory. */
export class FakeNominator implements PodNominator {
  private readonly byNode = new Map<string, PodInfo[]>();

  addNominatedPod(podInfo: PodInfo, nodeName: string): void {
    this.deleteNominatedPodIfExists(podInfo.pod);
    const list = this.byNode.get(nodeName) ?? [];
    list.push(podInfo);
    this.byNode.set(nodeName, list);
  }

  deleteNominatedPodIfExists(pod: Pod): void {
    const key = podKey(pod);
    for (const [node, list] of this.byNode) {
      const rest = list.filter((p) => p.uid !== key);
      if (rest.length === 0) this.byNode.delete(node);
      else this.byNode.set(node, rest);
    }
  }

  updateNominatedPod(oldPod: Pod, newPodInfo: PodInfo): void {
    const node = newPodInfo.pod.status?.nominatedNodeName;
    this.deleteNominatedPodIfExists(oldPod);
    if (node) this.addNominatedPod(newPodInfo, node);
  }

  nominatedPodsForNode(nodeName: string): PodInfo[] {
    return [...(this.byNode.get(nodeName) ?? [])];
  }
}

export interface Eviction {
  victim: Pod;
  preemptor: Pod;
  nodeName: string;
}

export interface NominationChange {
  pod: Pod;
  nodeName: string | undefined;
}

/** Records evictions and nomination changes; `failEvictionOf` makes evicting that pod (by name) fail. */
export class RecordingClient implements PreemptionClient {
  readonly evictions: Eviction[] = [];
  readonly nominations: NominationChange[] = [];
  failEvictionOf: string | undefined;

  async evictVictim(victim: Pod, preemptor: Pod, nodeName: string): Promise<void> {
    if (victim.metadata.name === this.failEvictionOf) throw new Error(`pods "${victim.metadata.name}" is forbidden`);
    this.evictions.push({ victim, preemptor, nodeName });
  }

  async setNominatedNodeName(pod: Pod, nodeName: string | undefined): Promise<void> {
    this.nominations.push({ pod, nodeName });
  }
}

export interface FakeHandleOptions {
  /** PreFilter plugins: run by runPreFilterPlugins and asked for their add/remove extensions. */
  preFilters?: PreFilterPlugin[];
  /** Filter plugins run, in order, by runFilterPlugins. */
  filters?: FilterPlugin[];
  pdbs?: PodDisruptionBudget[];
  priorityClasses?: PriorityClass[];
  /** Namespace name -> labels, for namespaceSelector. */
  namespaces?: Record<string, Record<string, string>>;
  /** Pods nominated to nodes (status.nominatedNodeName must be set). */
  nominatedPods?: Pod[];
}

const priorityOf = (p: Pod): number => p.spec.priority ?? 0;

/** A Handle over a fixed Snapshot for plugin tests. */
export class FakeHandle implements Handle {
  readonly profileName = "default-scheduler";
  readonly client = new RecordingClient();
  private readonly nominatorImpl = new FakeNominator();
  preFilters: PreFilterPlugin[];
  filters: FilterPlugin[];

  constructor(
    private readonly snap: Snapshot,
    private readonly opts: FakeHandleOptions = {},
  ) {
    this.preFilters = opts.preFilters ?? [];
    this.filters = opts.filters ?? [];
    for (const p of opts.nominatedPods ?? []) {
      const node = p.status?.nominatedNodeName;
      if (node) this.nominatorImpl.addNominatedPod(new PodInfo(p), node);
    }
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  nominator(): PodNominator {
    return this.nominatorImpl;
  }

  podDisruptionBudgets(): PodDisruptionBudget[] {
    return this.opts.pdbs ?? [];
  }

  priorityClasses(): PriorityClass[] {
    return this.opts.priorityClasses ?? [];
  }

  namespaceLabels(name: string): Record<string, string> | undefined {
    return this.opts.namespaces?.[name];
  }

  /** Runs the PreFilter plugins as the framework would: Skip marks the plugin's Filter as skipped. */
  runPreFilterPlugins(state: CycleState, pod: Pod): MaybeStatus {
    for (const pl of this.preFilters) {
      const { status } = pl.preFilter(state, pod, this.snap.nodeInfoList);
      if (status?.code === Code.Skip) {
        state.skipFilterPlugins.add(pl.name);
        continue;
      }
      if (!isSuccess(status)) return { ...status!, plugin: pl.name };
    }
    return null;
  }

  runFilterPlugins(state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    for (const pl of this.filters) {
      if (state.skipFilterPlugins.has(pl.name)) continue;
      const s = pl.filter(state, pod, nodeInfo);
      if (!isSuccess(s)) return { ...s!, plugin: pl.name };
    }
    return null;
  }

  /**
   * As upstream: first with the pods of equal or higher priority nominated to this node added (in a
   * copy of the node and the state), then, if any were added and that passed, once more without them.
   */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    const nominated = this.nominatorImpl
      .nominatedPodsForNode(nodeInfo.name)
      .filter((pi) => priorityOf(pi.pod) >= priorityOf(pod) && pi.uid !== podKey(pod));
    if (nominated.length === 0) return this.runFilterPlugins(state, pod, nodeInfo);
    const stateWith = state.clone();
    const nodeWith = nodeInfo.clone();
    for (const pi of nominated) {
      nodeWith.addPodInfo(pi);
      const s = this.runPreFilterExtensionAddPod(stateWith, pod, pi, nodeWith);
      if (!isSuccess(s)) return s;
    }
    const first = this.runFilterPlugins(stateWith, pod, nodeWith);
    if (!isSuccess(first)) return first;
    return this.runFilterPlugins(state, pod, nodeInfo);
  }

  runPreFilterExtensionAddPod(state: CycleState, podToSchedule: Pod, podInfoToAdd: PodInfo, nodeInfo: NodeInfo): MaybeStatus {
    return this.runExtensions(state, (ext) => ext.addPod(state, podToSchedule, podInfoToAdd, nodeInfo));
  }

  runPreFilterExtensionRemovePod(state: CycleState, podToSchedule: Pod, podInfoToRemove: PodInfo, nodeInfo: NodeInfo): MaybeStatus {
    return this.runExtensions(state, (ext) => ext.removePod(state, podToSchedule, podInfoToRemove, nodeInfo));
  }

  private runExtensions(state: CycleState, call: (ext: PreFilterExtensions) => MaybeStatus): MaybeStatus {
    for (const pl of this.preFilters) {
      if (state.skipFilterPlugins.has(pl.name)) continue;
      const ext = pl.preFilterExtensions?.();
      if (!ext) continue;
      const s = call(ext);
      if (!isSuccess(s)) return { ...s!, plugin: pl.name };
    }
    return null;
  }
}
