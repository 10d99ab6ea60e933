// Book 11.2: server-side printing — `kubectl get` asks for meta.k8s.io/v1 Table and the server
// chooses the columns (READY, STATUS, AGE...), so every kubectl version prints what the server knows.
import type { KubeObject, ResourceDef, TableColumn, TableConvertor } from "../registry/types.js";

export type IncludeObject = "None" | "Metadata" | "Object";

const DEFAULT_COLUMNS: TableColumn[] = [
  { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace.", priority: 0 },
  { name: "Created At", type: "date", description: "When the object was created.", priority: 0 },
];

export const defaultTable: TableConvertor = {
  columns: DEFAULT_COLUMNS,
  cells: (obj) => [obj.metadata.name ?? "", obj.metadata.creationTimestamp ?? ""],
};

/** Which representation the Accept header asks for: a Table (v1 or v1beta1) or the plain object. */
export function wantsTable(accept: string | undefined): "v1" | "v1beta1" | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(",")) {
    const p = part.replace(/\s+/g, "");
    if (p.includes("as=Table") && p.includes("g=meta.k8s.io")) {
      if (p.includes("v=v1beta1")) return "v1beta1";
      if (p.includes("v=v1")) return "v1";
    } else if (p.startsWith("application/json") || p === "*/*") {
      return undefined;
    }
  }
  return undefined;
}

function partialMetadata(obj: KubeObject, apiVersion: string) {
  const { managedFields: _mf, ...metadata } = obj.metadata;
  return { kind: "PartialObjectMetadata", apiVersion, metadata };
}

function rowObject(obj: KubeObject, include: IncludeObject, tableVersion: string) {
  if (include === "None") return undefined;
  if (include === "Object") return obj;
  return partialMetadata(obj, `meta.k8s.io/${tableVersion}`);
}

export function tableOf(
  def: ResourceDef,
  objs: KubeObject[],
  opts: { now: Date; include: IncludeObject; version: "v1" | "v1beta1"; resourceVersion?: string; continue?: string; noHeaders?: boolean },
) {
  const conv = def.table ?? defaultTable;
  const rows = objs.map((obj) => {
    let cells: unknown[];
    try {
      cells = conv.cells(obj, opts.now);
    } catch {
      cells = conv.columns.map((_c, i) => (i === 0 ? obj.metadata.name ?? "" : "<unknown>"));
    }
    const row: Record<string, unknown> = { cells };
    const o = rowObject(obj, opts.include, opts.version);
    if (o) row.object = o;
    return row;
  });
  const metadata: Record<string, string> = {};
  if (opts.resourceVersion) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  return {
    kind: "Table",
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata,
    columnDefinitions: opts.noHeaders ? [] : conv.columns,
    rows,
  };
}
