// Book 11.2 and 11.2.3: the Priority admission plugin — a new pod's PriorityClass name becomes the
// number (and preemption policy) the scheduler orders and preempts by; at most one class is the default.
import { forbidden, type PriorityClass } from "@corekube/api";
import type { AdmissionPlugin, AdmissionRequest } from "../registry/admission.js";
import type { KubeObject } from "../registry/types.js";
import { SYSTEM_PRIORITY_CLASSES } from "../kinds/scheduling.js";

/** The priority of a pod when it names no class and no class is the global default. */
export const DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS = 0;
export const DEFAULT_PREEMPTION_POLICY = "PreemptLowerPriority";

export interface PriorityClassLookup {
  /** The class with this name, or undefined when there is none. */
  get(name: string): Promise<PriorityClass | undefined>;
  /** Every class (an informer's view: it may lag storage by a moment, as upstream's lister does). */
  list(): Promise<PriorityClass[]>;
}

const PODS = { group: "", resource: "pods" };
const PRIORITY_CLASSES = { group: "scheduling.k8s.io", resource: "priorityclasses" };

const isPods = (req: AdmissionRequest) => req.def.group === "" && req.def.resource === "pods";
const isPriorityClasses = (req: AdmissionRequest) => req.def.group === PRIORITY_CLASSES.group && req.def.resource === PRIORITY_CLASSES.resource;

/**
 * The class pods without a class name get: the one marked globalDefault. Should two be marked (two
 * creates raced past the check below), the lower value wins, so nobody gains priority by accident.
 */
export function defaultPriorityClass(classes: readonly PriorityClass[]): PriorityClass | undefined {
  let best: PriorityClass | undefined;
  for (const pc of classes) {
    if (pc.globalDefault !== true) continue;
    if (!best || pc.value < best.value) best = pc;
  }
  return best;
}

interface Resolved {
  className: string;
  priority: number;
  preemptionPolicy?: string;
}

async function resolve(lookup: PriorityClassLookup, req: AdmissionRequest, className: string): Promise<Resolved> {
  if (className === "") {
    const dpc = defaultPriorityClass(await lookup.list());
    if (!dpc) return { className: "", priority: DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS, preemptionPolicy: DEFAULT_PREEMPTION_POLICY };
    return { className: dpc.metadata.name ?? "", priority: dpc.value, preemptionPolicy: dpc.preemptionPolicy };
  }
  const pc = await lookup.get(className);
  if (!pc) throw forbidden(PODS, req.name, `no PriorityClass with name ${className} was found`);
  return { className, priority: pc.value, preemptionPolicy: pc.preemptionPolicy };
}

/** Fills in spec.priority (and preemptionPolicy) of a new pod from its class; refuses values that disagree. */
async function admitPodCreate(lookup: PriorityClassLookup, req: AdmissionRequest, pod: KubeObject): Promise<void> {
  pod.spec ??= {};
  // Leave a malformed spec for validation to refuse.
  if (typeof pod.spec !== "object" || Array.isArray(pod.spec)) return;
  const spec = pod.spec as Record<string, unknown>;
  const named = typeof spec.priorityClassName === "string" ? spec.priorityClassName : "";
  const r = await resolve(lookup, req, named);
  // A pod without a class takes the default class's name too, so `kubectl get pod -o yaml` shows why.
  if (r.className !== "") spec.priorityClassName = r.className;
  const given = spec.priority;
  if (given !== undefined && given !== null && given !== r.priority)
    throw forbidden(
      PODS,
      req.name,
      `the integer value of priority (${String(given)}) must not be provided in pod spec; priority admission controller computed ${r.priority} from the given PriorityClass name`,
    );
  spec.priority = r.priority;
  if (r.preemptionPolicy !== undefined) {
    const policy = spec.preemptionPolicy;
    if (policy !== undefined && policy !== null && policy !== r.preemptionPolicy)
      throw forbidden(
        PODS,
        req.name,
        `the string value of PreemptionPolicy (${String(policy)}) must not be provided in pod spec; priority admission controller computed ${r.preemptionPolicy} from the given PriorityClass name`,
      );
    spec.preemptionPolicy = r.preemptionPolicy;
  }
}

/** An update that leaves out the computed fields keeps them (they cannot change anyway). */
function keepOnUpdate(pod: KubeObject, old: KubeObject | undefined): void {
  const spec = pod.spec as Record<string, unknown> | undefined;
  const oldSpec = old?.spec as Record<string, unknown> | undefined;
  if (!spec || typeof spec !== "object" || !oldSpec || typeof oldSpec !== "object") return;
  for (const k of ["priority", "preemptionPolicy"]) {
    if ((spec[k] === undefined || spec[k] === null) && oldSpec[k] !== undefined && oldSpec[k] !== null) spec[k] = oldSpec[k];
  }
}

/** At most one class may be marked globalDefault: creating or marking a second one is refused. */
async function validateClass(lookup: PriorityClassLookup, req: AdmissionRequest): Promise<void> {
  const pc = req.obj as PriorityClass | undefined;
  if (!pc || pc.globalDefault !== true) return;
  const dpc = defaultPriorityClass(await lookup.list());
  if (!dpc) return;
  const existing = dpc.metadata.name ?? "";
  if (req.operation === "CREATE" || (req.operation === "UPDATE" && existing !== pc.metadata.name))
    throw forbidden(PRIORITY_CLASSES, req.name, `PriorityClass ${existing} is already marked as default. Only one default can exist`);
}

export function priority(lookup: PriorityClassLookup): AdmissionPlugin {
  return {
    name: "Priority",
    async mutate(req: AdmissionRequest) {
      if (req.subresource !== "" || !isPods(req) || !req.obj) return;
      if (req.operation === "CREATE") await admitPodCreate(lookup, req, req.obj);
      else if (req.operation === "UPDATE") keepOnUpdate(req.obj, req.old);
    },
    async validate(req: AdmissionRequest) {
      if (req.subresource !== "" || !isPriorityClasses(req)) return;
      if (req.operation === "DELETE") {
        // The built-in classes stay: pods that keep a node or the cluster working refer to them.
        if (Object.hasOwn(SYSTEM_PRIORITY_CLASSES, req.name)) throw forbidden(PRIORITY_CLASSES, req.name, "this is a system priority class and cannot be deleted");
        return;
      }
      if (req.operation === "CREATE" || req.operation === "UPDATE") await validateClass(lookup, req);
    },
  };
}
