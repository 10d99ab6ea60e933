// Book 4.3-4.5 and 11.2: the ResourceQuota admission plugin — a new object's usage (a pod's count,
// requests and limits; a Service's node ports...) is held against every quota of its namespace, and
// charged to each one's status.used in the same step, so two creates cannot both take the last slot.
import {
  addUsage,
  exceededResources,
  forbidden,
  formatResourceList,
  maskUsage,
  objectUsage,
  Quantity,
  quotaConstraintError,
  quotaHard,
  quotaMatches,
  quotaTrackedNames,
  quotaUsed,
  type ResourceQuota,
  type ResourceUsage,
  resourceListOf,
  subtractUsage,
} from "@corekube/api";
import type { AdmissionPlugin, AdmissionRequest, Rollback } from "../registry/admission.js";
import type { KubeObject } from "../registry/types.js";

export interface QuotaAccess {
  /** The ResourceQuotas of a namespace (an informer's view; it may lag storage by a moment). */
  list(namespace: string): Promise<ResourceQuota[]>;
  /**
   * Read-modify-write of one quota's status: `change` gets the current quota from storage and returns
   * the new one (or throws to refuse); it is run again on a conflicting write. False when the quota
   * no longer exists.
   */
  updateStatus(namespace: string, name: string, change: (current: ResourceQuota) => ResourceQuota): Promise<boolean>;
}

/** What a charge took from one quota, so a failed write can give it back. */
interface Charge {
  namespace: string;
  name: string;
  amount: ResourceUsage;
}

const isRecord = (v: unknown): v is Record<string, string | number> => v !== null && typeof v === "object" && !Array.isArray(v);
const byName = (a: ResourceQuota, b: ResourceQuota) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");

function groupResourceOf(req: AdmissionRequest) {
  return { group: req.def.group, resource: req.def.resource };
}

/**
 * The part of `delta` the quota limits, and the refusal if used + that goes over hard (undefined
 * when it fits). Used amounts the quota has not recorded yet count as 0.
 */
export function checkQuota(q: ResourceQuota, delta: ResourceUsage): { requested: ResourceUsage; refusal?: string } {
  const hard = quotaHard(q);
  const requested = maskUsage(delta, hard.keys());
  if (requested.size === 0) return { requested };
  const used = quotaUsed(q);
  const after = maskUsage(addUsage(used, requested), requested.keys());
  const over = exceededResources(after, hard);
  if (over.length === 0) return { requested };
  const usedShown: ResourceUsage = new Map(over.map((n) => [n, used.get(n) ?? Quantity.zero()]));
  return {
    requested,
    refusal: `exceeded quota: ${q.metadata.name ?? ""}, requested: ${formatResourceList(maskUsage(requested, over))}, used: ${formatResourceList(usedShown)}, limited: ${formatResourceList(maskUsage(hard, over))}`,
  };
}

/** The quota with `amount` added to status.used (clamped at 0 when giving back). */
function withUsed(q: ResourceQuota, amount: ResourceUsage, sign: 1 | -1): ResourceQuota {
  const used = quotaUsed(q);
  let next = sign === 1 ? addUsage(used, amount) : subtractUsage(used, amount);
  next = new Map([...next].map(([n, v]) => [n, v.sign() < 0 ? Quantity.zero() : v]));
  const status = isRecord(q.status) ? q.status : {};
  const recorded = isRecord(status.used) ? status.used : {};
  return { ...q, status: { ...status, used: { ...recorded, ...resourceListOf(maskUsage(next, amount.keys())) } } };
}

export function resourceQuota(access: QuotaAccess): AdmissionPlugin {
  return {
    name: "ResourceQuota",
    async mutate(req: AdmissionRequest): Promise<Rollback | void> {
      if (req.operation !== "CREATE" || req.subresource !== "" || !req.obj || !req.def.namespaced) return;
      const obj: KubeObject = req.obj;
      // A malformed object is left for validation to refuse.
      if (obj.spec !== undefined && (obj.spec === null || typeof obj.spec !== "object" || Array.isArray(obj.spec))) return;
      const gr = groupResourceOf(req);
      const quotas = (await access.list(req.namespace)).filter((q) => quotaMatches(q, gr, obj)).sort(byName);
      if (quotas.length === 0) return;
      const forbid = (why: string) => forbidden(gr, req.name, why);

      // Every quota first: the object must state what they track (a pod's CPU limit under limits.cpu).
      for (const q of quotas) {
        const err = quotaConstraintError(quotaTrackedNames(q, gr), gr, obj);
        if (err) throw forbid(`failed quota: ${q.metadata.name ?? ""}: ${err}`);
      }
      const delta = objectUsage(gr, obj, req.ctx.now);
      // Then a check on the cached quotas, which refuses without a write in the common case.
      for (const q of quotas) {
        const { refusal } = checkQuota(q, delta);
        if (refusal) throw forbid(refusal);
      }
      if (req.ctx.dryRun) return;

      // Then the charge, quota by quota, checked again against what storage holds.
      const charges: Charge[] = [];
      const rollback: Rollback = async () => {
        for (const c of charges.reverse()) {
          await access.updateStatus(c.namespace, c.name, (cur) => withUsed(cur, c.amount, -1)).catch(() => false);
        }
      };
      try {
        for (const q of quotas) {
          const name = q.metadata.name ?? "";
          let charged: ResourceUsage | undefined;
          const found = await access.updateStatus(req.namespace, name, (cur) => {
            const { requested, refusal } = checkQuota(cur, delta);
            if (refusal) throw forbid(refusal);
            charged = requested;
            return requested.size === 0 ? cur : withUsed(cur, requested, 1);
          });
          if (found && charged && charged.size > 0) charges.push({ namespace: req.namespace, name, amount: charged });
        }
      } catch (e) {
        await rollback();
        throw e;
      }
      return rollback;
    },
  };
}
