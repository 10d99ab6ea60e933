// Book 11.2 and 12.3: the shape of an API schema — an OpenAPI v3 schema node in Kubernetes' dialect
// (the x-kubernetes-* extensions carry patch strategies and list semantics). One source for
// `kubectl explain`, strict field validation, strategic merge patch and server-side apply.

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** A node of an OpenAPI v3 (structural) schema as Kubernetes publishes it. */
export interface Schema {
  /** "#/components/schemas/<name>"; resolve with SchemaResolver.resolve(). */
  $ref?: string;
  /** Kubernetes wraps a $ref that carries a default or description in allOf: [{ $ref }]. */
  allOf?: Schema[];
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  anyOf?: Schema[];
  oneOf?: Schema[];
  not?: Schema;
  "x-kubernetes-group-version-kind"?: GroupVersionKind[];
  /** SMP: the field of list elements that identifies them (e.g. "name" for containers). */
  "x-kubernetes-patch-merge-key"?: string;
  /** SMP: "merge", "retainKeys", "merge,retainKeys" or "replace". */
  "x-kubernetes-patch-strategy"?: string;
  /** SSA: how a list is owned: whole ("atomic"), per value ("set") or per keyed element ("map"). */
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  /** SSA: "atomic" maps/structs are owned whole; "granular" (default) per field. */
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  [ext: `x-${string}`]: unknown;
}

/** Looks schemas up by name and follows $ref / single-element allOf to the real node. */
export interface SchemaResolver {
  /** The named schema ("io.k8s.api.core.v1.Pod"), or undefined. */
  get(name: string): Schema | undefined;
  /** Follows $ref and allOf:[{$ref}] (merging the wrapper's description/default) until a concrete node. */
  resolve(node: Schema | undefined): Schema | undefined;
  /** The root schema of a kind, by its x-kubernetes-group-version-kind. */
  forKind(gvk: GroupVersionKind): Schema | undefined;
}
