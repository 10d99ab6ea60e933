// Book 11.2: the admission chain — plugins that see every write after authentication and before
// storage, and may change the object (mutating) or refuse it (validating).
import type { KubeObject, RequestContext, ResourceDef } from "./types.js";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface AdmissionRequest {
  operation: Operation;
  def: ResourceDef;
  subresource: string;
  namespace: string;
  name: string;
  /** The object being written (mutable for mutating plugins); undefined on DELETE. */
  obj?: KubeObject;
  old?: KubeObject;
  ctx: RequestContext;
}

/** What a plugin must undo if the write does not happen (e.g. a reserved ClusterIP). */
export type Rollback = () => Promise<void>;

export interface AdmissionPlugin {
  readonly name: string;
  /** Mutating phase; may reserve things, returning how to release them. */
  mutate?(req: AdmissionRequest): Promise<Rollback | void> | Rollback | void;
  /** Validating phase: throw a StatusError to refuse. */
  validate?(req: AdmissionRequest): Promise<void> | void;
  /** After an object really left storage (release its allocations). */
  afterDelete?(def: ResourceDef, obj: KubeObject): Promise<void> | void;
}

export class AdmissionChain {
  constructor(readonly plugins: AdmissionPlugin[] = []) {}

  /**
   * Runs every mutating then every validating plugin; on refusal, undoes what was reserved. The
   * returned rollback runs at most once: a second call must not free what others claimed since.
   */
  async admit(req: AdmissionRequest): Promise<Rollback> {
    const undo: Rollback[] = [];
    let undone = false;
    const rollback: Rollback = async () => {
      if (undone) return;
      undone = true;
      for (const u of undo.reverse()) await u().catch(() => undefined);
    };
    try {
      for (const p of this.plugins) {
        const r = await p.mutate?.(req);
        if (r) undo.push(r);
      }
      for (const p of this.plugins) await p.validate?.(req);
    } catch (e) {
      await rollback();
      throw e;
    }
    return rollback;
  }

  async afterDelete(def: ResourceDef, obj: KubeObject): Promise<void> {
    for (const p of this.plugins) await p.afterDelete?.(def, obj);
  }
}
