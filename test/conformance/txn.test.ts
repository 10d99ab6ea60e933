// Book 12.3 and 12.10: txn against etcd 3.4 and `corekube kv`: every compare target x result, success
// and failure shapes, the four txns Kubernetes sends, one revision per txn.
import { expect, it } from "vitest";
import { forEachTarget, header, kv, uniq } from "../support/conformance.js";
import { b64, ok, prefixEnd, put, putRev } from "../support/wire-client.js";

type Target = "MOD" | "CREATE" | "VERSION" | "VALUE";
const FIELD: Record<Target, string> = { MOD: "mod_revision", CREATE: "create_revision", VERSION: "version", VALUE: "value" };
const RESULTS = ["EQUAL", "NOT_EQUAL", "LESS", "GREATER"] as const;

forEachTarget("txn", (s) => {
  const txn = (body: object) => ok(s.ep, "/v3/kv/txn", body);

  it.each(["MOD", "CREATE", "VERSION", "VALUE"] as Target[])("compare %s x EQUAL/NOT_EQUAL/LESS/GREATER against below/equal/above", async (target) => {
    const k = uniq("cmp-" + target) + "k";
    const created = await putRev(s.ep, k, "a");
    const modded = await putRev(s.ep, k, "b");
    // The key now has create=created, mod=modded, version=2, value "b".
    const actual = { MOD: modded, CREATE: created, VERSION: 2, VALUE: "b" }[target];
    const operands: (string | number)[] = target === "VALUE" ? ["a", "b", "c"] : [Number(actual) - 1, actual, Number(actual) + 1];
    const seen: Record<string, boolean> = {};
    for (const result of RESULTS) {
      for (const [i, operand] of operands.entries()) {
        const value = target === "VALUE" ? b64(String(operand)) : String(operand);
        const r = await txn({ compare: [{ target, result, key: b64(k), [FIELD[target]]: value }], success: [{ request_range: { key: b64(k), keys_only: true } }] });
        seen[`${result} ${["below", "equal", "above"][i]}`] = r.succeeded === true;
        if (!r.succeeded) expect(r).toEqual({ header: header(modded) });
      }
    }
    // compare(actual RESULT operand): LESS means the key's value is less than the operand.
    expect(seen).toEqual({
      "EQUAL below": false, "EQUAL equal": true, "EQUAL above": false,
      "NOT_EQUAL below": true, "NOT_EQUAL equal": false, "NOT_EQUAL above": true,
      "LESS below": false, "LESS equal": false, "LESS above": true,
      "GREATER below": true, "GREATER equal": false, "GREATER above": false,
    });
  });

  it("compares on a missing key see zeros, except VALUE which always fails", async () => {
    const k = b64(uniq("missing") + "k");
    const run = async (c: object) => (await txn({ compare: [{ key: k, result: "EQUAL", ...c }] })).succeeded === true;
    expect(await run({ target: "MOD", mod_revision: "0" })).toBe(true);
    expect(await run({ target: "CREATE", create_revision: "0" })).toBe(true);
    expect(await run({ target: "VERSION", version: "0" })).toBe(true);
    expect(await run({ target: "VALUE", value: "" })).toBe(false);
    expect(await run({ target: "LEASE", lease: "0" })).toBe(true);
  });

  it("a compare over a range holds only if it holds for every key", async () => {
    const p = uniq("cmprange");
    await putRev(s.ep, p + "a", "1");
    const last = await putRev(s.ep, p + "b", "1");
    const cmp = (rev: number) => ({ compare: [{ target: "MOD", result: "LESS", key: b64(p), range_end: b64(prefixEnd(p)), mod_revision: String(rev) }] });
    expect((await txn(cmp(last + 1))).succeeded).toBe(true);
    expect((await txn(cmp(last))).succeeded).toBeUndefined();
  });

  it("success ops run on success, failure ops on failure; responses carry only a revision header", async () => {
    const k = uniq("ops") + "k";
    const rev = await putRev(s.ep, k, "v");
    const body = {
      compare: [{ target: "VALUE", result: "EQUAL", key: b64(k), value: b64("v") }],
      success: [{ request_put: { key: b64(k), value: b64("w"), prev_kv: true } }, { request_range: { key: b64(k) } }],
      failure: [{ request_range: { key: b64(k) } }],
    };
    expect(await txn(body)).toEqual({
      header: header(rev + 1), succeeded: true,
      responses: [
        { response_put: { header: { revision: String(rev + 1) }, prev_kv: kv(k, "v", { create: rev, mod: rev, version: 1 }) } },
        { response_range: { header: { revision: String(rev + 1) }, kvs: [kv(k, "w", { create: rev, mod: rev + 1, version: 2 })], count: "1" } },
      ],
    });
    expect(await txn(body)).toEqual({
      header: header(rev + 1),
      responses: [{ response_range: { header: { revision: String(rev + 1) }, kvs: [kv(k, "w", { create: rev, mod: rev + 1, version: 2 })], count: "1" } }],
    });
  });

  it("all writes of a txn share one revision; a read-only txn makes none", async () => {
    const p = uniq("onerev");
    const before = await putRev(s.ep, p + "seed", "x");
    const r = await txn({ success: ["a", "b", "c"].map((n) => ({ request_put: { key: b64(p + n), value: b64(n) } })).concat([{ request_delete_range: { key: b64(p + "seed") } }] as never[]) });
    expect(r.header.revision).toBe(String(before + 1));
    expect(r.responses).toEqual([
      { response_put: { header: { revision: String(before + 1) } } },
      { response_put: { header: { revision: String(before + 1) } } },
      { response_put: { header: { revision: String(before + 1) } } },
      { response_delete_range: { header: { revision: String(before + 1) }, deleted: "1" } },
    ]);
    const list = await ok(s.ep, "/v3/kv/range", { key: b64(p), range_end: b64(prefixEnd(p)) });
    expect(list.kvs.map((x: { mod_revision: string }) => x.mod_revision)).toEqual([String(before + 1), String(before + 1), String(before + 1)]);
    expect((await txn({ success: [{ request_range: { key: b64(p + "a") } }] })).header.revision).toBe(String(before + 1));
  });

  it("an empty txn succeeds with just header and succeeded", async () => {
    expect(await txn({})).toEqual({ header: header(), succeeded: true });
  });

  it("a nested txn's response has an empty header", async () => {
    const k = uniq("nested") + "k";
    const r = await txn({ success: [{ request_txn: { success: [{ request_put: { key: b64(k), value: b64("n") } }] } }] });
    expect(r.responses).toEqual([{ response_txn: { header: {}, succeeded: true, responses: [{ response_put: { header: { revision: r.header.revision } } }] } }]);
  });

  it("Kubernetes' create: put if mod_revision == 0; the second create fails with only a header", async () => {
    const k = uniq("k8s-create") + "obj";
    const create = { compare: [{ target: "MOD", key: b64(k), mod_revision: "0", result: "EQUAL" }], success: [{ request_put: { key: b64(k), value: b64("v1") } }] };
    const first = await txn(create);
    const rev = Number(first.header.revision);
    expect(first).toEqual({ header: header(rev), succeeded: true, responses: [{ response_put: { header: { revision: String(rev) } } }] });
    expect(await txn(create)).toEqual({ header: header(rev) });
  });

  it("Kubernetes' update: put if mod_revision == rv, else get the current object", async () => {
    const k = uniq("k8s-update") + "obj";
    const rv = await putRev(s.ep, k, "v1");
    const update = (from: number, value: string) => ({
      compare: [{ target: "MOD", key: b64(k), mod_revision: String(from), result: "EQUAL" }],
      success: [{ request_put: { key: b64(k), value: b64(value) } }],
      failure: [{ request_range: { key: b64(k) } }],
    });
    expect(await txn(update(rv, "v2"))).toEqual({ header: header(rv + 1), succeeded: true, responses: [{ response_put: { header: { revision: String(rv + 1) } } }] });
    expect(await txn(update(rv, "stale"))).toEqual({
      header: header(rv + 1),
      responses: [{ response_range: { header: { revision: String(rv + 1) }, kvs: [kv(k, "v2", { create: rv, mod: rv + 1, version: 2 })], count: "1" } }],
    });
  });

  it("Kubernetes' delete: delete (prev_kv) if mod_revision == rv, else get", async () => {
    const k = uniq("k8s-delete") + "obj";
    const rv = await putRev(s.ep, k, "v1");
    const del = (from: number) => ({
      compare: [{ target: "MOD", key: b64(k), mod_revision: String(from), result: "EQUAL" }],
      success: [{ request_delete_range: { key: b64(k), prev_kv: true } }],
      failure: [{ request_range: { key: b64(k) } }],
    });
    expect(await txn(del(rv - 1))).toEqual({
      header: header(rv), responses: [{ response_range: { header: { revision: String(rv) }, kvs: [kv(k, "v1", { create: rv, mod: rv, version: 1 })], count: "1" } }],
    });
    expect(await txn(del(rv))).toEqual({
      header: header(rv + 1), succeeded: true,
      responses: [{ response_delete_range: { header: { revision: String(rv + 1) }, deleted: "1", prev_kvs: [kv(k, "v1", { create: rv, mod: rv, version: 1 })] } }],
    });
  });

  it("Kubernetes' compactor CAS: put compact_rev_key if its version == v, else get", async () => {
    const k = uniq("k8s-compactor") + "compact_rev_key";
    const cas = (version: number, rev: string) => ({
      compare: [{ key: b64(k), target: "VERSION", version: String(version) }],
      success: [{ request_put: { key: b64(k), value: b64(rev) } }],
      failure: [{ request_range: { key: b64(k) } }],
    });
    const first = await txn(cas(0, "100"));
    const rev = Number(first.header.revision);
    expect(first).toEqual({ header: header(rev), succeeded: true, responses: [{ response_put: { header: { revision: String(rev) } } }] });
    expect(await txn(cas(0, "200"))).toEqual({
      header: header(rev), responses: [{ response_range: { header: { revision: String(rev) }, kvs: [kv(k, "100", { create: rev, mod: rev, version: 1 })], count: "1" } }],
    });
    expect((await txn(cas(1, "200"))).succeeded).toBe(true);
  });

  it("a LEASE compare", async () => {
    const k = uniq("lease-cmp") + "k";
    const lease = (await ok(s.ep, "/v3/lease/grant", { TTL: "60" })).ID as string;
    await put(s.ep, k, "v", { lease });
    const run = async (id: string) => (await txn({ compare: [{ target: "LEASE", result: "EQUAL", key: b64(k), lease: id }] })).succeeded === true;
    expect([await run(lease), await run("0")]).toEqual([true, false]);
    await ok(s.ep, "/v3/lease/revoke", { ID: lease });
  });
});
