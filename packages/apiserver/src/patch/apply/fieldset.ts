// Book 11.2 and 12.3: a set of field paths — what one manager owns — with set algebra and the
// FieldsV1 wire form stored in metadata.managedFields (`{"f:spec":{"f:replicas":{}}}`).
import { comparePE, parsePE, PathElementError, serializePE, type Path, type PathElement } from "./fieldpath.js";
import { isObject } from "./value.js";

interface Child {
  readonly pe: PathElement;
  readonly set: FieldSet;
}

/**
 * A tree of paths. A path is a *member* when it was inserted itself; a node may be a member and
 * also have children (a keyed list element owned as a whole and its fields). Inserting a path does
 * not make its parents members. Set operations return new sets and never change their inputs.
 */
export class FieldSet {
  private readonly members = new Map<string, PathElement>();
  private readonly children = new Map<string, Child>();

  static of(...paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Adds a path (mutates this set; only for sets under construction). The empty path is ignored. */
  insert(path: Path): this {
    if (path.length === 0) return this;
    let node: FieldSet = this;
    for (let i = 0; i < path.length - 1; i++) node = node.descend(path[i]!);
    const last = path[path.length - 1]!;
    node.members.set(serializePE(last), last);
    return this;
  }

  private descend(pe: PathElement): FieldSet {
    const key = serializePE(pe);
    let c = this.children.get(key);
    if (!c) {
      c = { pe, set: new FieldSet() };
      this.children.set(key, c);
    }
    return c.set;
  }

  isEmpty(): boolean {
    if (this.members.size > 0) return false;
    for (const c of this.children.values()) if (!c.set.isEmpty()) return false;
    return true;
  }

  /**
   * Puts `sub`'s paths under `pe` (and `pe` itself when `member`): the same as inserting each of
   * them with `pe` in front, without listing them. Only for sets under construction; `sub` is
   * taken over (or merged in when `pe` already has paths below it).
   */
  adopt(pe: PathElement, sub: FieldSet, member: boolean): void {
    const key = serializePE(pe);
    if (member) this.members.set(key, pe);
    if (sub.isEmpty()) return;
    const mine = this.children.get(key);
    this.children.set(key, { pe: mine?.pe ?? pe, set: mine ? mine.set.union(sub) : sub });
  }

  /** Number of member paths. */
  get size(): number {
    let n = this.members.size;
    for (const c of this.children.values()) n += c.set.size;
    return n;
  }

  has(path: Path): boolean {
    if (path.length === 0) return false;
    let node: FieldSet | undefined = this;
    for (let i = 0; i < path.length - 1 && node; i++) node = node.children.get(serializePE(path[i]!))?.set;
    return node !== undefined && node.members.has(serializePE(path[path.length - 1]!));
  }

  hasMember(pe: PathElement): boolean {
    return this.members.has(serializePE(pe));
  }

  /** The paths below `pe`, with `pe` itself cut off (empty when there are none). A read-only view. */
  withPrefix(pe: PathElement): FieldSet {
    return this.children.get(serializePE(pe))?.set ?? new FieldSet();
  }

  /** The child elements that have paths below them, sorted. */
  childElements(): PathElement[] {
    return [...this.children.values()].filter((c) => !c.set.isEmpty()).map((c) => c.pe).sort(comparePE);
  }

  memberElements(): PathElement[] {
    return [...this.members.values()].sort(comparePE);
  }

  copy(): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) out.members.set(k, pe);
    for (const [k, c] of this.children) out.children.set(k, { pe: c.pe, set: c.set.copy() });
    return out;
  }

  union(other: FieldSet): FieldSet {
    const out = this.copy();
    for (const [k, pe] of other.members) out.members.set(k, pe);
    for (const [k, c] of other.children) {
      const mine = out.children.get(k);
      out.children.set(k, { pe: c.pe, set: mine ? mine.set.union(c.set) : c.set.copy() });
    }
    return out;
  }

  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) if (other.members.has(k)) out.members.set(k, pe);
    for (const [k, c] of this.children) {
      const theirs = other.children.get(k);
      if (!theirs) continue;
      const both = c.set.intersection(theirs.set);
      if (!both.isEmpty()) out.children.set(k, { pe: c.pe, set: both });
    }
    return out;
  }

  /** Paths of this set that are not in `other`. Removing a parent path leaves its children alone. */
  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) if (!other.members.has(k)) out.members.set(k, pe);
    for (const [k, c] of this.children) {
      const theirs = other.children.get(k);
      const rest = theirs ? c.set.difference(theirs.set) : c.set.copy();
      if (!rest.isEmpty()) out.children.set(k, { pe: c.pe, set: rest });
    }
    return out;
  }

  /** Like difference, but a member of `other` also removes everything below it. */
  recursiveDifference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) if (!other.members.has(k)) out.members.set(k, pe);
    for (const [k, c] of this.children) {
      if (other.members.has(k)) continue;
      const theirs = other.children.get(k);
      const rest = theirs ? c.set.recursiveDifference(theirs.set) : c.set.copy();
      if (!rest.isEmpty()) out.children.set(k, { pe: c.pe, set: rest });
    }
    return out;
  }

  /** Only the leaf paths: members that have no paths below them. */
  leaves(): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) {
      const c = this.children.get(k);
      if (!c || c.set.isEmpty()) out.members.set(k, pe);
    }
    for (const [k, c] of this.children) {
      const l = c.set.leaves();
      if (!l.isEmpty()) out.children.set(k, { pe: c.pe, set: l });
    }
    return out;
  }

  equals(other: FieldSet): boolean {
    return this.difference(other).isEmpty() && other.difference(this).isEmpty();
  }

  /** Every member path, depth first: a node's members (sorted) before the paths below its children. */
  paths(): Path[] {
    const out: Path[] = [];
    this.collect([], out);
    return out;
  }

  private collect(prefix: PathElement[], out: Path[]): void {
    for (const pe of this.memberElements()) out.push([...prefix, pe]);
    for (const pe of this.childElements()) this.children.get(serializePE(pe))!.set.collect([...prefix, pe], out);
  }

  /** The FieldsV1 JSON object. Keys are written in the set's order, "." first where a node is also a member. */
  toFieldsV1(): Record<string, unknown> {
    return this.emit(false);
  }

  private emit(includeSelf: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    // One entry per key: a member, the non-empty paths below it, or both.
    const entries = new Map<string, { pe: PathElement; sub?: FieldSet }>();
    for (const [k, pe] of this.members) entries.set(k, { pe });
    for (const [k, c] of this.children) if (!c.set.isEmpty()) entries.set(k, { pe: c.pe, sub: c.set });
    if (includeSelf && entries.size > 0) out["."] = {};
    const sorted = [...entries.values()].sort((a, b) => comparePE(a.pe, b.pe));
    for (const { pe, sub } of sorted) {
      const k = serializePE(pe);
      out[k] = sub ? sub.emit(this.members.has(k)) : {};
    }
    return out;
  }

  /** Reads FieldsV1. Unknown key prefixes are skipped; malformed input throws FieldsV1Error. */
  static fromFieldsV1(fields: unknown): FieldSet {
    if (!isObject(fields)) throw new FieldsV1Error("FieldsV1 must be a JSON object");
    const out = new FieldSet();
    readInto(out, fields, "");
    return out;
  }

  toString(): string {
    return this.paths()
      .map((p) => p.map((pe) => serializePE(pe)).join(""))
      .join("\n");
  }
}

export class FieldsV1Error extends Error {}

/** Fills `set` with the paths a FieldsV1 node describes. */
function readInto(set: FieldSet, node: Record<string, unknown>, where: string): void {
  for (const [key, sub] of Object.entries(node)) {
    if (key === ".") continue;
    let pe: PathElement | undefined;
    try {
      pe = parsePE(key);
    } catch (e) {
      if (e instanceof PathElementError) throw new FieldsV1Error(`parsing key as path element${where}: ${e.message}`);
      throw e;
    }
    if (pe === undefined) continue;
    if (!isObject(sub)) throw new FieldsV1Error(`value of ${JSON.stringify(key)}${where} must be a JSON object`);
    // The node's paths go straight into the set under `pe` (rather than into a set of their own
    // that is then listed and copied path by path, which cost a lot for every stored object).
    const child = new FieldSet();
    readInto(child, sub, ` under ${JSON.stringify(key)}`);
    const isMember = "." in sub || child.isEmpty();
    set.adopt(pe, child, isMember);
  }
}
