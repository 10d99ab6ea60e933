// Book 1.6.1 and 11.2: the protobuf field table read into lookups — for each built-in message (by its
// schema component name), which field number carries which JSON property, of what type.
import { internalError } from "@corekube/api";
import { MESSAGES, PACKAGES, STRING_LISTS } from "./fields.generated.js";

/** Protobuf scalar types as the table spells them: string, int32, int64, bool, double, bytes. */
export type ScalarType = "s" | "i" | "l" | "b" | "d" | "y";

export interface FieldDef {
  number: number;
  /** The JSON property ("" for an inlined embedded struct). */
  json: string;
  /** A scalar type, or the component name of a message ("io.k8s.api.core.v1.PodSpec"). */
  scalar?: ScalarType;
  message?: string;
  repeated: boolean;
  /** map<string, T>: the wire carries entry messages {key = 1, value = 2}. */
  map: boolean;
  /** A Go pointer: kept in JSON whenever it is on the wire, even at its zero value. */
  pointer: boolean;
  omitEmpty: boolean;
  omitZero: boolean;
  /** An embedded struct whose fields JSON puts into the parent object. */
  inline: boolean;
}

export interface MessageDef {
  /** Schema component name, e.g. "io.k8s.api.core.v1.Pod". */
  name: string;
  /** In declaration order (the order Go's JSON writes them). */
  fields: FieldDef[];
  byNumber: ReadonlyMap<number, FieldDef>;
}

const SCALARS = new Set<string>(["s", "i", "l", "b", "d", "y"]);
const FIELD = /^(\d+):([^:]*):(\[\]|\{\})?([A-Za-z0-9.]+?)([*?~^]*)$/;

let messages: Map<string, MessageDef> | undefined;
let stringLists: Set<string> | undefined;
let byShortName: Map<string, string[]> | undefined;

function parseField(token: string, pkg: string, owner: string): FieldDef {
  const m = FIELD.exec(token);
  if (!m) throw internalError(`protobuf table: bad field ${JSON.stringify(token)} in ${owner}`);
  const [, num, json = "", container = "", type = "", flags = ""] = m;
  const def: FieldDef = {
    number: Number(num),
    json,
    repeated: container === "[]",
    map: container === "{}",
    pointer: flags.includes("*"),
    omitEmpty: flags.includes("?"),
    omitZero: flags.includes("~"),
    inline: flags.includes("^"),
  };
  if (SCALARS.has(type)) {
    def.scalar = type as ScalarType;
  } else {
    const dot = type.lastIndexOf(".");
    if (dot < 0) {
      def.message = `${pkg}.${type}`;
    } else {
      const prefix = PACKAGES[type.slice(0, dot)];
      if (prefix === undefined) throw internalError(`protobuf table: unknown package in ${token} (${owner})`);
      def.message = `${prefix}.${type.slice(dot + 1)}`;
    }
  }
  return def;
}

function load(): Map<string, MessageDef> {
  if (messages) return messages;
  const out = new Map<string, MessageDef>();
  const short = new Map<string, string[]>();
  for (const [alias, table] of Object.entries(MESSAGES)) {
    const pkg = PACKAGES[alias];
    if (pkg === undefined) throw internalError(`protobuf table: unknown package ${alias}`);
    for (const [msg, spec] of Object.entries(table)) {
      const name = `${pkg}.${msg}`;
      const fields = spec === "" ? [] : spec.split(" ").map((t) => parseField(t, pkg, name));
      out.set(name, { name, fields, byNumber: new Map(fields.map((f) => [f.number, f])) });
      const list = short.get(msg) ?? [];
      list.push(name);
      short.set(msg, list);
    }
  }
  messages = out;
  byShortName = short;
  return out;
}

/** The fields of a built-in message, by schema component name; undefined if the table lacks it. */
export function messageDef(name: string): MessageDef | undefined {
  return load().get(name);
}

/** Component names of every message called `kind` (e.g. "Event" is in core/v1 and events/v1). */
export function messagesNamed(kind: string): readonly string[] {
  load();
  return byShortName?.get(kind) ?? [];
}

/** Whether a message stands for a Go []string (JSON: the array of its field 1 strings). */
export function isStringList(name: string): boolean {
  stringLists ??= new Set(
    STRING_LISTS.map((ref) => {
      const dot = ref.lastIndexOf(".");
      return `${PACKAGES[ref.slice(0, dot)] ?? ref.slice(0, dot)}.${ref.slice(dot + 1)}`;
    }),
  );
  return stringLists.has(name);
}

/** Every message in the table, by component name. */
export function tableMessages(): string[] {
  return [...load().keys()];
}
