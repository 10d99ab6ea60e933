// Book 12.3, 12.6, 12.10: etcd 3.4 and `corekube kv` on bad requests: malformed JSON, bad base64, wrong
// types, empty keys, txn limits and duplicates, oversized requests (400/3, 429/8), bad stream messages.
import { expect, it } from "vitest";
import { etcdError, forEachTarget, uniq } from "../support/conformance.js";
import { b64, post } from "../support/wire-client.js";

const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024; // both servers' default --max-request-bytes
const GRPC_MAX = MAX_REQUEST_BYTES + 512 * 1024;
const varintSize = (n: number) => (n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4);

forEachTarget("bad input", (s) => {
  const expectError = async (path: string, body: string | object, status: number, code: number, message: string) => {
    const r = await post(s.ep, path, body);
    expect({ status: r.status, body: r.json }).toEqual({ status, body: etcdError(code, message) });
  };

  it.each([
    ["not json", "invalid character 'o' in literal null (expecting 'u')"],
    ['{"key":"Zm9v"', "unexpected EOF"],
    ['{"key":"Zm9v" "x"}', `invalid character '"' after object key:value pair`],
    ["{key:1}", "invalid character 'k' looking for beginning of object key string"],
    ['{"key":"Zm9v",}', "invalid character '}' looking for beginning of object key string"],
    ['{"key":"Zm9v\\x"}', "invalid character 'x' in string escape code"],
    ["[]", "json: cannot unmarshal array into Go value of type map[string]json.RawMessage"],
    ["5", "json: cannot unmarshal number into Go value of type map[string]json.RawMessage"],
  ])("malformed JSON %s", async (body, message) => {
    await expectError("/v3/kv/range", body, 400, 3, message);
  });

  it.each([
    ['{"key":"!!!"}', "illegal base64 data at input byte 0"],
    ['{"key":"Zm9"}', "illegal base64 data at input byte 0"],
    ['{"key":"Zm9v="}', "illegal base64 data at input byte 4"],
    ['{"key":"Zm-_"}', "illegal base64 data at input byte 2"],
    ['{"key":"Zm9vYg"}', "illegal base64 data at input byte 4"],
    ['{"key":"Zm9vYg="}', "illegal base64 data at input byte 7"],
  ])("bad base64 %s", async (body, message) => {
    await expectError("/v3/kv/range", body, 400, 3, message);
  });

  it.each([
    ['{"key":"Zm9v","limit":"x"}', "invalid character 'x' looking for beginning of value"],
    ['{"key":"Zm9v","limit":""}', "unexpected end of JSON input"],
    ['{"key":"Zm9v","limit":true}', "json: cannot unmarshal bool into Go value of type int64"],
    ['{"key":"Zm9v","limit":1.5}', "json: cannot unmarshal number 1.5 into Go value of type int64"],
    ['{"key":"Zm9v","limit":"1e3"}', "json: cannot unmarshal number 1e3 into Go value of type int64"],
    ['{"key":"Zm9v","limit":"99999999999999999999"}', "json: cannot unmarshal number 99999999999999999999 into Go value of type int64"],
    ['{"key":"Zm9v","limit":{}}', "json: cannot unmarshal object into Go value of type int64"],
    ['{"key":5}', "json: cannot unmarshal number into Go value of type []uint8"],
    ['{"key":{}}', "json: cannot unmarshal object into Go value of type []uint8"],
    ['{"key":[256]}', "json: cannot unmarshal number 256 into Go value of type uint8"],
    ['{"key":"Zm9v","serializable":"true"}', "json: cannot unmarshal string into Go value of type bool"],
    ['{"key":"Zm9v","serializable":1}', "json: cannot unmarshal number into Go value of type bool"],
    ['{"key":"Zm9v","sort_order":"BAD"}', 'unknown value "BAD" for enum etcdserverpb.RangeRequest_SortOrder'],
    ['{"key":"Zm9v","sort_order":99999999999}', "json: cannot unmarshal number 99999999999 into Go value of type etcdserverpb.RangeRequest_SortOrder"],
  ])("wrong type %s", async (body, message) => {
    await expectError("/v3/kv/range", body, 400, 3, message);
  });

  it("what Go accepts: unknown fields, trailing bytes, null, numbers for int64s, byte arrays, CR/LF in base64", async () => {
    for (const body of ['{"key":"Zm9v","bogus":[1,{"x":null}]}', '{"key":"Zm9v"} trailing', '{"key":"Zm9v","limit":null}', '{"key":"Zm9v","limit":5}', '{"key":[102,111,111]}', '{"key":"Zm9v\\n"}', '{"key":"Zm9v","limit":" 5 "}']) {
      expect((await post(s.ep, "/v3/kv/range", body)).status).toBe(200);
    }
  });

  it("empty keys are 400 / code 3 everywhere they are checked", async () => {
    const empty = "etcdserver: key is not provided";
    await expectError("/v3/kv/range", {}, 400, 3, empty);
    await expectError("/v3/kv/range", "", 400, 3, empty);
    await expectError("/v3/kv/put", { key: "", value: b64("v") }, 400, 3, empty);
    await expectError("/v3/kv/deleterange", { key: "" }, 400, 3, empty);
    await expectError("/v3/kv/txn", { compare: [{ key: "", target: "MOD" }] }, 400, 3, empty);
    await expectError("/v3/kv/txn", { success: [{ request_put: { key: "" } }] }, 400, 3, empty);
    await expectError("/v3/kv/txn", { success: [{}] }, 400, 3, "etcdserver: key not found");
  });

  it("put: ignore_value with a value, ignore_lease with a lease", async () => {
    await expectError("/v3/kv/put", { key: b64("a"), ignore_value: true, value: b64("x") }, 400, 3, "etcdserver: value is provided");
    await expectError("/v3/kv/put", { key: b64("a"), ignore_lease: true, lease: "5" }, 400, 3, "etcdserver: lease is provided");
    await expectError("/v3/kv/put", { key: b64(uniq("ignore") + "missing"), ignore_value: true }, 400, 3, "etcdserver: key not found");
  });

  it("more than 128 ops in a txn list is 400 / code 3; 128 in each list is fine", async () => {
    const p = uniq("ops");
    const ops = (n: number) => Array.from({ length: n }, (_, i) => ({ request_range: { key: b64(p + i) } }));
    const cmps = (n: number) => Array.from({ length: n }, () => ({ key: b64(p), target: "MOD" }));
    const many = "etcdserver: too many operations in txn request";
    await expectError("/v3/kv/txn", { success: ops(129) }, 400, 3, many);
    await expectError("/v3/kv/txn", { failure: ops(129) }, 400, 3, many);
    await expectError("/v3/kv/txn", { compare: cmps(129) }, 400, 3, many);
    expect((await post(s.ep, "/v3/kv/txn", { compare: cmps(128), success: ops(128), failure: ops(128) })).status).toBe(200);
    await expectError("/v3/kv/txn", { compare: cmps(127), success: [{ request_txn: { success: ops(2) } }] }, 400, 3, many);
  });

  it("a key written twice in one txn is 400 / code 3 (puts, deletes over it, nested txns)", async () => {
    const dup = "etcdserver: duplicate key given in txn request";
    const [a, b, c] = ["a", "b", "c"].map((x) => b64(uniq("dup") + x));
    const bodies = [
      { success: [{ request_put: { key: a } }, { request_put: { key: a } }] },
      { success: [{ request_put: { key: a } }, { request_delete_range: { key: a } }] },
      { success: [{ request_delete_range: { key: a } }, { request_put: { key: a } }] },
      { failure: [{ request_put: { key: a } }, { request_put: { key: a } }] },
      { success: [{ request_put: { key: a } }, { request_txn: { success: [{ request_put: { key: a } }] } }] },
      { success: [{ request_put: { key: a } }, { request_txn: { failure: [{ request_delete_range: { key: a } }] } }] },
    ];
    for (const body of bodies) await expectError("/v3/kv/txn", body, 400, 3, dup);
    const prefix = uniq("dupr");
    await expectError("/v3/kv/txn", { success: [{ request_put: { key: b64(prefix + "m") } }, { request_delete_range: { key: b64(prefix + "a"), range_end: b64(prefix + "z") } }] }, 400, 3, dup);
    const fine = [
      { success: [{ request_put: { key: a } }], failure: [{ request_put: { key: a } }] },
      { success: [{ request_delete_range: { key: a } }, { request_delete_range: { key: a } }] },
      { success: [{ request_put: { key: b } }, { request_range: { key: b } }] },
      { success: [{ request_txn: { success: [{ request_put: { key: c } }], failure: [{ request_put: { key: c } }] } }] },
      { success: [{ request_put: { key: b64(prefix + "z") } }, { request_delete_range: { key: b64(prefix + "a"), range_end: b64(prefix + "z") } }] },
    ];
    for (const body of fine) expect((await post(s.ep, "/v3/kv/txn", body)).status).toBe(200);
  });

  it("a write over --max-request-bytes is 400 / code 3; any request over it + 512 KiB is 429 / code 8", async () => {
    const key = uniq("big") + "k";
    const body = (n: number) => JSON.stringify({ key: b64(key), value: Buffer.alloc(n, 97).toString("base64") });
    const tooLarge = await post(s.ep, "/v3/kv/put", body(MAX_REQUEST_BYTES - 10));
    expect([tooLarge.status, tooLarge.json]).toEqual([400, etcdError(3, "etcdserver: request is too large")]);
    expect((await post(s.ep, "/v3/kv/put", body(MAX_REQUEST_BYTES - 200))).status).toBe(200);
    const n = GRPC_MAX + 10;
    const protoSize = 2 + key.length + 1 + varintSize(n) + n;
    const huge = await post(s.ep, "/v3/kv/put", body(n), 30_000);
    expect([huge.status, huge.json]).toEqual([429, etcdError(8, `grpc: received message larger than max (${protoSize} vs. ${GRPC_MAX})`)]);
    await post(s.ep, "/v3/kv/deleterange", { key: b64(key) });
  });

  it("a bad first message on a stream is a 500 with code 2", async () => {
    for (const [path, body, message] of [
      ["/v3/watch", '{"create_request":{"key":"YQ==","start_revision":"abc"}}', "invalid character 'a' looking for beginning of value"],
      ["/v3/watch", "garbage", "invalid character 'g' looking for beginning of value"],
      ["/v3/lease/keepalive", '{"ID":true}', "json: cannot unmarshal bool into Go value of type int64"],
    ]) {
      const r = await post(s.ep, path!, body!);
      expect([r.status, r.json]).toEqual([500, etcdError(2, message!)]);
    }
  });
});
