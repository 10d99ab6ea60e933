// Book 11.2 (and 2.3.1): what the API server answers to bad requests — the HTTP code, the Status
// reason and, where kube-apiserver's wording is fixed, its message — checked against one real
// `corekube apiserver` process with TLS and client-certificate authentication.
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, request } from "undici";
import { EtcdClient } from "@corekube/kv/client/index";
import { startControlPlane, type ControlPlane } from "../support/apiserver-process.js";

const NS = "bad";
const JSON_TYPE = "application/json";
const MERGE = "application/merge-patch+json";
const LIMIT = 3 * 1024 * 1024;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "busybox:1.36" }] },
  ...extra,
});
const configMap = (name: string, data: Record<string, string> = { a: "b" }) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data });
const deployment = (name: string, app = "web") => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: { selector: { matchLabels: { app } }, template: { metadata: { labels: { app } }, spec: { containers: [{ name: "c", image: "nginx" }] } } },
});

describe("apiserver: bad requests get kube-apiserver's Status answers", () => {
  let cp: ControlPlane;
  let admin: Agent;
  let anon: Agent;

  const call = async (method: string, path: string, opts: { body?: unknown; type?: string; headers?: Record<string, string>; agent?: Agent } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...opts.headers };
    let body: string | Buffer | Readable | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === "string" || Buffer.isBuffer(opts.body) || opts.body instanceof Readable ? opts.body : JSON.stringify(opts.body);
      if (opts.type !== "") headers["content-type"] = opts.type ?? JSON_TYPE;
    }
    const r = await request(cp.url + path, { method: method as never, headers, body, dispatcher: opts.agent ?? admin });
    const text = await r.body.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: r.statusCode, headers: r.headers, text, body: parsed };
  };

  /** The answer is a failure Status with this code and reason (and message, when given). */
  const expectStatus = (a: Answer, code: number, reason: string, message?: string | RegExp) => {
    expect({ status: a.status, text: a.text.slice(0, 300) }).toMatchObject({ status: code });
    expect(a.body).toMatchObject({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", code, reason });
    if (typeof message === "string") expect(a.body.message).toBe(message);
    else if (message) expect(a.body.message).toMatch(message);
  };

  /** The causes of a 422, as "field reason" pairs. */
  const causes = (a: Answer): string[] => (a.body?.details?.causes ?? []).map((c: { field?: string; reason?: string }) => `${c.field} ${c.reason}`);

  beforeAll(async () => {
    cp = await startControlPlane({ backend: "kv" });
    admin = new Agent({ connect: { ca: cp.tls.ca, cert: cp.tls.cert, key: cp.tls.key } });
    anon = new Agent({ connect: { ca: cp.tls.ca } });
    expect((await call("POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } })).status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await admin?.close();
    await anon?.close();
    await cp?.stop();
  });

  const pods = `/api/v1/namespaces/${NS}/pods`;
  const cms = `/api/v1/namespaces/${NS}/configmaps`;
  const deploys = `/apis/apps/v1/namespaces/${NS}/deployments`;

  describe("400 BadRequest: bodies that do not decode", () => {
    it.each([
      ["malformed JSON", "{not json", JSON_TYPE],
      ["truncated JSON", '{"apiVersion":"v1","kind":"Pod",', JSON_TYPE],
      ["a JSON array", "[]", JSON_TYPE],
      ["a JSON number", "5", JSON_TYPE],
      ["malformed YAML", "metadata: [name", "application/yaml"],
      ["YAML with a tab indent", "metadata:\n\tname: x\n", "application/yaml"],
      ["bytes that are not UTF-8 JSON", Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), JSON_TYPE],
      ["nesting deeper than any object", `{"metadata":${"[".repeat(20_000)}${"]".repeat(20_000)}}`, JSON_TYPE],
    ])("%s", async (_what, body, type) => {
      expectStatus(await call("POST", pods, { body, type }), 400, "BadRequest");
    });

    it("apiVersion or kind that is not a string", async () => {
      const a = await call("POST", cms, { body: { ...configMap("t1"), kind: { toString: "x" } } });
      expectStatus(a, 400, "BadRequest", "couldn't get version/kind; json parse error: json: cannot unmarshal object into Go struct field .kind of type string");
      const b = await call("POST", cms, { body: { ...configMap("t2"), apiVersion: ["v1"] } });
      expectStatus(b, 400, "BadRequest", "couldn't get version/kind; json parse error: json: cannot unmarshal array into Go struct field .apiVersion of type string");
    });

    it("another kind or API version than the URL's resource", async () => {
      expectStatus(await call("POST", pods, { body: configMap("wrong-kind") }), 400, "BadRequest");
      const v = await call("POST", deploys, { body: { ...deployment("old"), apiVersion: "apps/v1beta1" } });
      expectStatus(v, 400, "BadRequest", "the API version in the data (apps/v1beta1) does not match the expected API version (apps/v1)");
    });

    it("a namespace or name in the body that differs from the URL", async () => {
      const ns = await call("POST", pods, { body: { ...pod("elsewhere"), metadata: { name: "elsewhere", namespace: "default" } } });
      expectStatus(ns, 400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
      expect((await call("POST", pods, { body: pod("named") })).status).toBe(201);
      const name = await call("PUT", `${pods}/named`, { body: pod("other") });
      expectStatus(name, 400, "BadRequest", "the name of the object (other) does not match the name on the URL (named)");
    });

    it("bad query parameters: label and field selectors, limit, timeoutSeconds, continue", async () => {
      expectStatus(await call("GET", `${pods}?labelSelector=${encodeURIComponent("app in (")}`), 400, "BadRequest", /^unable to parse requirement: /);
      expectStatus(await call("GET", `${pods}?labelSelector=${encodeURIComponent("a b")}`), 400, "BadRequest");
      expectStatus(await call("GET", `${pods}?fieldSelector=${encodeURIComponent("a=b=c")}`), 400, "BadRequest");
      expectStatus(await call("GET", `${pods}?fieldSelector=${encodeURIComponent("spec.colour=red")}`), 400, "BadRequest", /field label not supported: spec.colour/);
      expectStatus(await call("GET", `${pods}?limit=ten`), 400, "BadRequest");
      expectStatus(await call("GET", `${pods}?watch=true&timeoutSeconds=soon`), 400, "BadRequest");
      expectStatus(await call("GET", `${pods}?limit=1&continue=not-a-token`), 400, "BadRequest");
      expectStatus(await call("GET", `${pods}?resourceVersion=yesterday`), 400, "BadRequest");
    });

    // kube-apiserver passes the selector parser's message through, prefixed once.
    it("a bad label selector's message is the parser's own, not prefixed twice", async () => {
      const a = await call("GET", `${pods}?labelSelector=${encodeURIComponent("app in (")}`);
      expect(a.body.message).not.toMatch(/unable to parse requirement: unable to parse requirement/);
    });

    // kube-apiserver decodes into typed structs, so a value of the wrong JSON type is a 400 decode
    // error before validation.
    it("a field of the wrong JSON type is 400", async () => {
      const wrong = [
        await call("POST", deploys, { body: { ...deployment("typed"), spec: { ...deployment("typed").spec, replicas: "3" } } }),
        await call("POST", cms, { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "typed" }, data: [] } }),
        await call("POST", `/api/v1/namespaces/${NS}/services`, { body: { apiVersion: "v1", kind: "Service", metadata: { name: "typed" }, spec: { ports: false } } }),
      ];
      expect(wrong.map((a) => `${a.status} ${a.body?.reason}`)).toEqual(["400 BadRequest", "400 BadRequest", "400 BadRequest"]);
    });

    // A null list item decodes to an empty Container and fails validation (name and image required).
    it("a null container is 422 Invalid", async () => {
      const a = await call("POST", pods, { body: { ...pod("nullc"), spec: { containers: [null] } } });
      expect(a.status).toBe(422);
    });

    it("a path with broken %-escapes is a Status too", async () => {
      expectStatus(await call("GET", `/api/v1/namespaces/${NS}/pods/%zz`), 400, "BadRequest");
    });
  });

  describe("404 NotFound: paths that name nothing", () => {
    it.each([
      ["an unknown group", "/apis/nope.example.com/v1/things"],
      ["an unknown version of a known group", "/apis/apps/v9/deployments"],
      ["an unknown core version", "/api/v2/pods"],
      ["an unknown resource", "/api/v1/nopes"],
      ["an unknown namespaced resource", `/api/v1/namespaces/${NS}/nopes`],
      ["a cluster-scoped resource under a namespace", `/api/v1/namespaces/${NS}/nodes`],
      ["an unknown subresource", `${pods}/named/colour`],
      ["an unknown non-resource path", "/nothing/here"],
      ["an unknown health check", "/readyz/nothing"],
    ])("%s", async (_what, path) => {
      expectStatus(await call("GET", path), 404, "NotFound", "the server could not find the requested resource");
    });

    it("a missing object names itself; a missing namespace too", async () => {
      expectStatus(await call("GET", `${pods}/ghost`), 404, "NotFound", 'pods "ghost" not found');
      expect((await call("GET", `${pods}/ghost`)).body.details).toEqual({ name: "ghost", kind: "pods" });
      expectStatus(await call("POST", "/api/v1/namespaces/no-such-ns/pods", { body: pod("p") }), 404, "NotFound", 'namespaces "no-such-ns" not found');
    });
  });

  describe("405 MethodNotAllowed: a method the path does not take", () => {
    const message = "the server does not allow this method on the requested resource";
    it.each([
      ["POST to an object", "POST", `${pods}/named`, pod("named")],
      ["PUT to a collection", "PUT", pods, pod("x")],
      ["PATCH to a collection", "PATCH", cms, {}],
      ["DELETE of a status subresource", "DELETE", `${pods}/named/status`, undefined],
      ["POST to a pod's log", "POST", `${pods}/named/log`, {}],
      ["GET of a pod's eviction", "GET", `${pods}/named/eviction`, undefined],
      ["POST to discovery", "POST", "/api/v1", {}],
    ])("%s", async (_what, method, path, body) => {
      const a = await call(method, path, { body, type: method === "PATCH" ? MERGE : JSON_TYPE });
      expectStatus(a, 405, "MethodNotAllowed", message);
      expect(a.body.details).toEqual({});
    });

    // Namespaces have no deletecollection (discovery lists no such verb).
    it("DELETE on the namespaces collection is 405 and deletes nothing", async () => {
      const a = await call("DELETE", "/api/v1/namespaces");
      expect(a.status).toBe(405);
      expect(a.body.kind).toBe("Status");
      expect((await call("GET", `/api/v1/namespaces/${NS}`)).status).toBe(200);
    });
  });

  describe("409: AlreadyExists and Conflict", () => {
    it("a second create of the same name", async () => {
      expect((await call("POST", cms, { body: configMap("twice") })).status).toBe(201);
      const a = await call("POST", cms, { body: configMap("twice") });
      expectStatus(a, 409, "AlreadyExists", 'configmaps "twice" already exists');
      expect(a.body.details).toEqual({ name: "twice", kind: "configmaps" });
    });

    it("an update, patch or delete from a stale resourceVersion", async () => {
      const created = await call("POST", cms, { body: configMap("stale") });
      const rv = created.body.metadata.resourceVersion as string;
      expect((await call("PUT", `${cms}/stale`, { body: { ...created.body, data: { a: "c" } } })).status).toBe(200);
      const put = await call("PUT", `${cms}/stale`, { body: { ...created.body, data: { a: "d" } } });
      expectStatus(put, 409, "Conflict", 'Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again');
      const patch = await call("PATCH", `${cms}/stale`, { body: { metadata: { resourceVersion: rv }, data: { a: "e" } }, type: MERGE });
      expectStatus(patch, 409, "Conflict", /^Operation cannot be fulfilled on configmaps "stale"/);
      const del = await call("DELETE", `${cms}/stale`, { body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { resourceVersion: rv } } });
      expectStatus(del, 409, "Conflict", /^Operation cannot be fulfilled on configmaps "stale": Precondition failed: ResourceVersion in precondition: /);
      expect((await call("GET", `${cms}/stale`)).body.data).toEqual({ a: "c" });
    });
  });

  describe("413 RequestEntityTooLarge: bodies over 3 MiB", () => {
    const message = `Request entity too large: limit is ${LIMIT}`;
    it("a create with Content-Length over the limit", async () => {
      const body = JSON.stringify(configMap("huge", { a: "x".repeat(LIMIT) }));
      expectStatus(await call("POST", cms, { body }), 413, "RequestEntityTooLarge", message);
    });

    it("a chunked body that grows past the limit", async () => {
      const chunks = Readable.from([Buffer.from('{"data":{"a":"'), Buffer.alloc(2 * 1024 * 1024, 120), Buffer.alloc(2 * 1024 * 1024, 120), Buffer.from('"}}')]);
      expectStatus(await call("POST", cms, { body: chunks }), 413, "RequestEntityTooLarge", message);
    });

    it("a patch over the limit", async () => {
      const body = JSON.stringify({ data: { a: "x".repeat(LIMIT) } });
      expectStatus(await call("PATCH", `${cms}/twice`, { body, type: MERGE }), 413, "RequestEntityTooLarge", message);
    });

    it("just under the limit is read, and then judged on its content (ConfigMaps hold at most 1 MiB)", async () => {
      const a = await call("POST", cms, { body: configMap("big", { a: "x".repeat(LIMIT - 4096) }) });
      expectStatus(a, 422, "Invalid", /Too long/);
    });
  });

  describe("415 UnsupportedMediaType", () => {
    it.each([
      ["POST as text/plain", "POST", cms, "text/plain"],
      ["POST as XML", "POST", cms, "application/xml"],
      ["PUT as text/plain", "PUT", `${cms}/twice`, "text/plain"],
      ["PATCH as application/json", "PATCH", `${cms}/twice`, JSON_TYPE],
      ["PATCH as text/plain", "PATCH", `${cms}/twice`, "text/plain"],
      ["PATCH with no Content-Type", "PATCH", `${cms}/twice`, ""],
    ])("%s", async (_what, method, path, type) => {
      const a = await call(method, path, { body: configMap("twice"), type });
      expectStatus(a, 415, "UnsupportedMediaType", /^the body of the request was in an unknown format - accepted media types include: /);
    });

    it("a strategic merge patch on a custom resource (those have no patch strategies)", async () => {
      const crd = {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "gadgets.bad.example.com" },
        spec: {
          group: "bad.example.com",
          names: { plural: "gadgets", singular: "gadget", kind: "Gadget" },
          scope: "Namespaced",
          versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
        },
      };
      expect((await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", { body: crd })).status).toBe(201);
      const path = `/apis/bad.example.com/v1/namespaces/${NS}/gadgets`;
      let created: Answer | undefined;
      for (let t = 0; t < 100; t++) {
        created = await call("POST", path, { body: { apiVersion: "bad.example.com/v1", kind: "Gadget", metadata: { name: "g" }, spec: { a: 1 } } });
        if (created.status !== 404) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(created!.status).toBe(201);
      const a = await call("PATCH", `${path}/g`, { body: { spec: { a: 2 } }, type: "application/strategic-merge-patch+json" });
      expectStatus(a, 415, "UnsupportedMediaType");
      expect(a.body.message).not.toContain("strategic");
    });
  });

  describe("422 Invalid: objects that decode but break the rules", () => {
    it.each([
      ["an upper-case name", "Bad_Name"],
      ["a name over 253 characters", "a".repeat(254)],
      ["a name with two dots in a row", "a..b"],
    ])("%s", async (_what, name) => {
      const a = await call("POST", cms, { body: configMap(name) });
      expectStatus(a, 422, "Invalid", new RegExp(`^ConfigMap "${name}" is invalid: metadata\\.name: Invalid value: "${name}"`));
      expect(causes(a)).toEqual(["metadata.name FieldValueInvalid"]);
      expect(a.body.details).toMatchObject({ name, kind: "ConfigMap" });
    });

    it("no name and no generateName", async () => {
      const a = await call("POST", cms, { body: { apiVersion: "v1", kind: "ConfigMap", metadata: {} } });
      expectStatus(a, 422, "Invalid", /metadata\.name: Required value: name or generateName is required/);
      expect(causes(a)).toEqual(["metadata.name FieldValueRequired"]);
    });

    it("missing required fields name each field in a cause", async () => {
      const p = await call("POST", pods, { body: { apiVersion: "v1", kind: "Pod", metadata: { name: "empty" }, spec: {} } });
      expectStatus(p, 422, "Invalid", /^Pod "empty" is invalid: /);
      expect(causes(p)).toContain("spec.containers FieldValueRequired");
      const d = await call("POST", deploys, { body: { ...deployment("nosel"), spec: { template: deployment("x").spec.template } } });
      expectStatus(d, 422, "Invalid", /^Deployment\.apps "nosel" is invalid: /);
      expect(causes(d)).toContain("spec.selector FieldValueRequired");
      expect(d.body.details).toMatchObject({ name: "nosel", group: "apps", kind: "Deployment" });
      const s = await call("POST", `/api/v1/namespaces/${NS}/services`, { body: { apiVersion: "v1", kind: "Service", metadata: { name: "noports" }, spec: { selector: { a: "b" } } } });
      expectStatus(s, 422, "Invalid", /^Service "noports" is invalid: /);
      expect(causes(s)).toContain("spec.ports FieldValueRequired");
    });

    it("immutable fields: a Deployment's selector, an immutable ConfigMap's data, a Pod's spec", async () => {
      expect((await call("POST", deploys, { body: deployment("web") })).status).toBe(201);
      const sel = await call("PATCH", `${deploys}/web`, { body: { spec: { selector: { matchLabels: { app: "db" } }, template: { metadata: { labels: { app: "db" } } } } }, type: MERGE });
      expectStatus(sel, 422, "Invalid", /spec\.selector: Invalid value: .*: field is immutable/);
      expect(causes(sel)).toContain("spec.selector FieldValueInvalid");

      expect((await call("POST", cms, { body: { ...configMap("frozen"), immutable: true } })).status).toBe(201);
      const frozen = await call("PATCH", `${cms}/frozen`, { body: { data: { a: "thawed" } }, type: MERGE });
      expectStatus(frozen, 422, "Invalid", /field is immutable when `immutable` is set/);
      expect(causes(frozen)).toEqual(["data FieldValueForbidden"]);

      const spec = await call("PATCH", `${pods}/named`, { body: { spec: { restartPolicy: "Never" } }, type: MERGE });
      expectStatus(spec, 422, "Invalid", /pod updates may not change fields other than/);
    });

    it("a write's options: dryRun, fieldValidation, fieldManager, force, apply without a manager", async () => {
      const dry = await call("POST", `${cms}?dryRun=Everything`, { body: configMap("dry") });
      expectStatus(dry, 422, "Invalid", 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["Everything"]: supported values: "All"');
      expect(dry.body.details).toMatchObject({ group: "meta.k8s.io", kind: "CreateOptions", causes: [{ field: "dryRun", reason: "FieldValueNotSupported" }] });
      const fv = await call("PUT", `${cms}/twice?fieldValidation=Loud`, { body: configMap("twice") });
      expectStatus(fv, 422, "Invalid", /^UpdateOptions\.meta\.k8s\.io "" is invalid: fieldValidation: Unsupported value: "Loud"/);
      const fm = await call("POST", `${cms}?fieldManager=${"m".repeat(129)}`, { body: configMap("fm") });
      expectStatus(fm, 422, "Invalid", /fieldManager: Too long/);
      const bell = await call("POST", `${cms}?fieldManager=a%07b`, { body: configMap("fm") });
      expectStatus(bell, 422, "Invalid", /fieldManager: Invalid value: "a\\u0007b": invalid character U\+0007 \(at position 1\)/);
      const force = await call("PATCH", `${cms}/twice?force=true`, { body: { data: { a: "z" } }, type: MERGE });
      expectStatus(force, 422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
      const apply = await call("PATCH", `${cms}/twice`, { body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\n", type: "application/apply-patch+yaml" });
      expectStatus(apply, 422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
      const policy = await call("DELETE", `${cms}/twice?propagationPolicy=Sideways`);
      expectStatus(policy, 422, "Invalid", /^DeleteOptions\.meta\.k8s\.io "" is invalid: propagationPolicy: Unsupported value: "Sideways"/);
      expect((await call("GET", `${cms}/dry`)).status).toBe(404);
    });
  });

  describe("fieldValidation and dryRun", () => {
    it("Strict: unknown and duplicate fields are 400 with their paths", async () => {
      const unknown = await call("POST", `${pods}?fieldValidation=Strict`, { body: { ...pod("strict"), spec: { containers: [{ name: "c", image: "i", colour: "red" }], bogus: 1 } } });
      expectStatus(unknown, 400, "BadRequest", 'strict decoding error: unknown field "spec.containers[0].colour", unknown field "spec.bogus"');
      const dup = await call("POST", `${cms}?fieldValidation=Strict`, { body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d","name":"d"}}' });
      expectStatus(dup, 400, "BadRequest", 'strict decoding error: duplicate field "metadata.name"');
      expect((await call("GET", `${pods}/strict`)).status).toBe(404);
    });

    it("Warn (the default): stored, with a Warning header per unknown field; Ignore: no header", async () => {
      const warn = await call("POST", `${cms}?fieldValidation=Warn`, { body: { ...configMap("warned"), colour: "red" } });
      expect(warn.status).toBe(201);
      expect(warn.headers.warning).toBe('299 - "unknown field \\"colour\\""');
      const byDefault = await call("POST", cms, { body: { ...configMap("warned2"), spec: { x: 1 } } });
      expect(byDefault.headers.warning).toBe('299 - "unknown field \\"spec\\""');
      const ignore = await call("POST", `${cms}?fieldValidation=Ignore`, { body: { ...configMap("ignored"), colour: "red" } });
      expect(ignore.status).toBe(201);
      expect(ignore.headers.warning).toBeUndefined();
    });

    it("a field name that is not ASCII still makes a valid Warning header", async () => {
      const a = await call("POST", cms, { body: { ...configMap("snow"), "☃\u0007": 1 } });
      expect(a.status).toBe(201);
      expect(a.headers.warning).toBe('299 - "unknown field \\"\\u2603\\u0007\\""');
    });

    // Built-in kinds decode into typed structs in kube-apiserver: unknown fields never reach storage.
    it("an unknown field accepted with a warning is not stored", async () => {
      await call("POST", cms, { body: { ...configMap("dropped"), colour: "red" } });
      expect((await call("GET", `${cms}/dropped`)).body.colour).toBeUndefined();
    });

    it("dryRun=All: the answer shows the object, nothing is stored or deleted", async () => {
      const created = await call("POST", `${cms}?dryRun=All`, { body: configMap("dry-run") });
      expect(created.status).toBe(201);
      expect(created.body.metadata.name).toBe("dry-run");
      expectStatus(await call("GET", `${cms}/dry-run`), 404, "NotFound");
      const deleted = await call("DELETE", `${cms}/twice?dryRun=All`);
      expect(deleted.status).toBe(200);
      expect((await call("GET", `${cms}/twice`)).status).toBe(200);
      const patched = await call("PATCH", `${cms}/twice?dryRun=All`, { body: { data: { a: "dry" } }, type: MERGE });
      expect(patched.body.data).toEqual({ a: "dry" });
      expect((await call("GET", `${cms}/twice`)).body.data).toEqual({ a: "b" });
    });
  });

  describe("401 Unauthorized without credentials", () => {
    it.each(["/api", "/apis", "/api/v1/pods", `${pods}/named`, "/openapi/v3", "/openapi/v2", "/metrics", "/nothing/here", "/readyz/../api/v1/pods"])("GET %s", async (path) => {
      expectStatus(await call("GET", path, { agent: anon }), 401, "Unauthorized", "Unauthorized");
    });

    it("writes too", async () => {
      expectStatus(await call("POST", pods, { body: pod("anon"), agent: anon }), 401, "Unauthorized");
      expectStatus(await call("POST", "/healthz", { body: {}, agent: anon }), 401, "Unauthorized");
    });

    it.each(["/healthz", "/livez", "/readyz", "/readyz/etcd", "/livez/ping", "/version"])("GET %s is public", async (path) => {
      const a = await call("GET", path, { agent: anon });
      expect(a.status).toBe(200);
    });
  });

  describe("410 Expired", () => {
    it("a list continue token whose snapshot was compacted away", async () => {
      for (const n of ["c1", "c2", "c3"]) expect((await call("POST", cms, { body: configMap(n) })).status).toBe(201);
      const first = await call("GET", `${cms}?limit=1`);
      expect(first.body.metadata.continue).toBeTruthy();
      expect((await call("POST", cms, { body: configMap("c4") })).status).toBe(201);
      const etcd = new EtcdClient({ endpoints: cp.etcdServers });
      try {
        const rev = (await etcd.status()).header.revision;
        await etcd.compact({ revision: rev });
      } finally {
        await etcd.close();
      }
      const next = await call("GET", `${cms}?limit=1&continue=${encodeURIComponent(first.body.metadata.continue)}`);
      expectStatus(next, 410, "Expired", /^The provided continue parameter is too old to display a consistent list result/);
      const exact = await call("GET", `${cms}?resourceVersion=${first.body.metadata.resourceVersion}&resourceVersionMatch=Exact`);
      expectStatus(exact, 410, "Expired");
    });

    it("a watch from a compacted revision: 200, then one ERROR event carrying a 410 Status, then the end", async () => {
      const created = await call("POST", cms, { body: configMap("w1") });
      const oldRv = created.body.metadata.resourceVersion as string;
      expect((await call("PATCH", `${cms}/w1`, { body: { data: { a: "2" } }, type: MERGE })).status).toBe(200);
      const etcd = new EtcdClient({ endpoints: cp.etcdServers });
      try {
        await etcd.compact({ revision: (await etcd.status()).header.revision });
      } finally {
        await etcd.close();
      }
      // A fresh server's watch cache starts at the present; oldRv is behind it (and compacted).
      await cp.restartApiserver();
      const w = await call("GET", `${cms}?watch=true&resourceVersion=${oldRv}&timeoutSeconds=5`);
      expect(w.status).toBe(200);
      const events = w.text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type: string; object: any }); // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(events).toHaveLength(1);
      expect(events[0]!.type).toBe("ERROR");
      expect(events[0]!.object).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", code: 410, reason: "Expired" });
      expect(events[0]!.object.message).toMatch(new RegExp(`^too old resource version: ${oldRv} \\(\\d+\\)$`));
    });
  });
});
