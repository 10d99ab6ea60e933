// Book 9.3 and 11.1: coordination.k8s.io Leases — the heartbeats kubelets renew for their nodes
// and the locks leader election holds (HOLDER in `kubectl get leases`).
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { get, obj, s } from "./json.js";
import { age, ageColumn, col, nameColumn, nameOf } from "./tables.js";
import { validateTime } from "./validation.js";

function validateLease(lease: KubeObject): FieldError[] {
  const spec = obj(lease.spec) ?? {};
  const errs: FieldError[] = [];
  const duration = spec.leaseDurationSeconds;
  if (duration !== undefined && duration !== null && (typeof duration !== "number" || duration <= 0)) {
    errs.push(field.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"));
  }
  const transitions = spec.leaseTransitions;
  if (transitions !== undefined && transitions !== null && (typeof transitions !== "number" || transitions < 0)) {
    errs.push(field.invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0"));
  }
  errs.push(...validateTime(spec.acquireTime, "spec.acquireTime"), ...validateTime(spec.renewTime, "spec.renewTime"));
  return errs;
}

export const leases: ResourceDef = {
  group: "coordination.k8s.io",
  version: "v1",
  resource: "leases",
  kind: "Lease",
  listKind: "LeaseList",
  singular: "lease",
  namespaced: true,
  schemaName: "io.k8s.api.coordination.v1.Lease",
  strategy: {
    validate: validateLease,
    allowCreateOnUpdate: true,
  },
  table: {
    columns: [nameColumn(), col("Holder", "string", "Who holds the lease now."), ageColumn()],
    cells: (lease, now) => [nameOf(lease), s(get(lease, "spec", "holderIdentity")), age(lease, now)],
  },
};
