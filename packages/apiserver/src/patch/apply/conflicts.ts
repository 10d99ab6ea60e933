// Book 11.2 and 12.3: apply conflicts — a field the configuration would change that another manager
// owns — reported as the 409 Status kubectl understands (it then suggests --force-conflicts).
import { failure, type StatusCause, type StatusError } from "@corekube/api";
import { formatPath, type Path } from "./fieldpath.js";
import { managerId, type ManagerEntry } from "./managers.js";
import { compareStrings } from "./value.js";

export interface Conflict {
  readonly owner: ManagerEntry;
  readonly path: Path;
}

/** Thrown inside apply when conflicts stop it; turned into a StatusError at the edge. */
export class ApplyConflicts extends Error {
  constructor(readonly conflicts: readonly Conflict[]) {
    super(`${conflicts.length} apply conflict(s)`);
    this.name = "ApplyConflicts";
  }
}

/** `"kubectl-client-side-apply" using apps/v1`, `"ctl" with subresource "status"`, `"other"`. */
export function describeManager(e: ManagerEntry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource !== "") s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === "Update") s += ` using ${e.apiVersion}`;
  return s;
}

/** The 409 Conflict Status for a failed apply: one line per field, grouped by manager when several. */
export function conflictError(conflicts: readonly Conflict[]): StatusError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${describeManager(c.owner)}`,
    field: formatPath(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    message = `Apply failed with 1 conflict: conflict with ${describeManager(c.owner)}: ${formatPath(c.path)}`;
  } else {
    const byManager = new Map<string, { owner: ManagerEntry; paths: Path[] }>();
    for (const c of conflicts) {
      const id = managerId(c.owner);
      const g = byManager.get(id) ?? { owner: c.owner, paths: [] };
      g.paths.push(c.path);
      byManager.set(id, g);
    }
    const lines: string[] = [];
    for (const id of [...byManager.keys()].sort(compareStrings)) {
      const g = byManager.get(id)!;
      lines.push(`conflicts with ${describeManager(g.owner)}:`);
      for (const p of g.paths) lines.push(`- ${formatPath(p)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
  }
  return failure(409, "Conflict", message, { causes });
}
