// Book 1.6.1, 3.2 and 11.2: the real kubectl (1.27, 1.30, 1.33) against `corekube apiserver` on both
// storage backends — a reader's session from the book: apply, get, watch, describe, patch, scale, CRDs.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Agent, request } from "undici";
import { type Backend, type ControlPlane, startControlPlane } from "../support/apiserver-process.js";
import { etcdAvailable } from "../support/etcd-process.js";
import { type Kubectl, kubectl, kubectlAvailable, KUBECTL_VERSIONS } from "../support/kubectl.js";

const backends: Backend[] = (["kv", "etcd"] as const).filter((b) => {
  if (b !== "etcd" || etcdAvailable()) return true;
  // CI must run the session on the real etcd too; by hand, a machine without etcd runs kv alone.
  if (process.env.CI) throw new Error("etcd is not installed: scripts/setup.sh --test installs Debian's etcd-server");
  return false;
});

const versions = KUBECTL_VERSIONS.filter((v) => {
  if (kubectlAvailable(v)) return true;
  if (process.env.CI) throw new Error(`kubectl.${v} is not installed (expected under /usr/lib/google-cloud-sdk/bin)`);
  return false;
});

// ---- manifests -------------------------------------------------------------------------------------

const namespaceYaml = (ns: string) => `apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
  labels:
    book: core-kubernetes
`;

const webV1 = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
    tier: frontend
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
      - name: sidecar
        image: busybox:1.36
        command: ["sleep", "3600"]
`;

// The second edit: new image, sidecar gone, label `tier` gone, RollingUpdate -> Recreate.
const webV2 = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  strategy:
    type: Recreate
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - containerPort: 80
`;

const apiDeployment = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels:
    app: api
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
      - name: api
        image: registry.example/api:1.0
`;

const simpleDeployment = (name: string, image = "nginx:1.27") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels:
    app: ${name}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
      - name: main
        image: ${image}
`;

const pod = (name: string, extra = "") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    app: ${name}
spec:${extra}
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
`;

const configMaps = (n: number) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: Array.from({ length: n }, (_, i) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `page-${i}`, labels: { book: "paging" } }, data: { i: String(i) } })),
  });

const crontabCrd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: ["ct"]
    categories: ["all"]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: A CronTab runs an image on a schedule.
        properties:
          spec:
            type: object
            description: What to run and when.
            required: ["cronSpec", "image"]
            properties:
              cronSpec:
                type: string
                description: The schedule in cron format.
                pattern: '^(\\S+\\s){4}\\S+$'
              image:
                type: string
                description: The container image to run.
              replicas:
                type: integer
                minimum: 1
                maximum: 10
    additionalPrinterColumns:
    - name: Spec
      type: string
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
`;

const crontab = (name: string, replicas: number) => `apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: ${name}
spec:
  cronSpec: "0 3 * * *"
  image: backup:1.0
  replicas: ${replicas}
`;

// ---- reading kubectl's output ----------------------------------------------------------------------

/** A kubectl table as rows keyed by header; cells are cut at the header columns' offsets. */
function table(out: string): Record<string, string>[] {
  const lines = out.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0) return [];
  const header = lines[0]!;
  const cols = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index! }));
  return lines.slice(1).map((line) => {
    const row: Record<string, string> = {};
    cols.forEach((c, i) => (row[c.name] = line.slice(c.at, cols[i + 1]?.at ?? line.length).trim()));
    return row;
  });
}

const headerOf = (out: string) => out.split("\n")[0]!.trim().split(/\s+/);

interface Deployment {
  metadata: { name: string; generation: number; resourceVersion: string; labels?: Record<string, string>; annotations?: Record<string, string>; managedFields?: { manager: string; operation: string; fieldsV1?: Record<string, Record<string, unknown>> }[] };
  spec: {
    replicas: number;
    minReadySeconds?: number;
    strategy: { type: string; rollingUpdate?: unknown };
    template: { metadata: { labels: Record<string, string> }; spec: { containers: { name: string; image: string }[] } };
  };
}

// ---- the session -----------------------------------------------------------------------------------

(versions.length === 0 ? describe.skip : describe).each(backends)("kubectl against corekube apiserver on %s", (backend) => {
  let cp: ControlPlane | undefined;
  let agent: Agent | undefined;

  beforeAll(async () => {
    cp = await startControlPlane({ backend });
    agent = new Agent({ connect: { ca: cp.tls.ca, cert: cp.tls.cert, key: cp.tls.key } });
  }, 90_000);

  afterAll(async () => {
    await agent?.close();
    await cp?.stop();
  }, 30_000);

  // A failing step shows what the server said about it.
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.error(`--- apiserver log (${backend}), last lines:\n${cp?.log().slice(-3000) ?? "(not started)"}`));
  });

  /** A create of our own, as a controller or the scheduler would send it; answers the HTTP status. */
  async function post(path: string, body: unknown): Promise<number> {
    const r = await request(`${cp!.url}${path}`, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
    await r.body.text();
    return r.statusCode;
  }

  describe.each(versions)("kubectl %s", (version) => {
    const ns = `book-${backend}-${version.replace(".", "-")}`;
    let k: Kubectl;
    const n = ["-n", ns];

    beforeAll(() => {
      k = kubectl(version, cp!.kubeconfig);
    });
    afterAll(() => k?.cleanup());

    const getJson = async <T>(args: string[]): Promise<T> => JSON.parse(await k.ok(["get", ...args, "-o", "json", "--show-managed-fields"])) as T;
    const deployment = (name: string) => getJson<Deployment>(["deployment", name, ...n]);
    const apply = (manifest: string, extra: string[] = []) => k.run(["apply", "-f", "-", ...n, ...extra], { input: manifest });

    it("creates the namespace from a manifest with apply -f", async () => {
      const r = await k.run(["apply", "-f", "-"], { input: namespaceYaml(ns) });
      expect(r).toMatchObject({ code: 0, stdout: `namespace/${ns} created\n` });
      const rows = table(await k.ok(["get", "namespace", ns, "--show-labels"]));
      expect(rows).toEqual([expect.objectContaining({ NAME: ns, STATUS: "Active", LABELS: expect.stringContaining("book=core-kubernetes") })]);
      // Applying the same manifest again changes nothing.
      expect(await k.ok(["apply", "-f", "-"], { input: namespaceYaml(ns) })).toBe(`namespace/${ns} unchanged\n`);
    });

    // kubectl 1.33 sends the typed objects of `create <generator>` as protobuf, older ones as JSON.
    it("creates objects with kubectl create namespace and create configmap", async () => {
      const name = `${ns}-gen`;
      expect(await k.run(["create", "namespace", name])).toMatchObject({ code: 0, stdout: `namespace/${name} created\n` });
      expect(await k.ok(["get", "namespace", name, "-o", "jsonpath={.status.phase}"])).toBe("Active");
      expect(await k.run(["create", "configmap", "settings", "-n", name, "--from-literal=mode=book", "--from-literal=chapter=3"])).toMatchObject({
        code: 0,
        stdout: "configmap/settings created\n",
      });
      expect(JSON.parse(await k.ok(["get", "configmap", "settings", "-n", name, "-o", "jsonpath={.data}"]))).toEqual({ mode: "book", chapter: "3" });
    });

    it("applies a Deployment, then a changed manifest as a three-way strategic merge", async () => {
      expect(await apply(webV1)).toMatchObject({ code: 0, stdout: "deployment.apps/web created\n" });
      const before = await deployment("web");
      expect(before.spec.template.spec.containers.map((c) => c.name)).toEqual(["nginx", "sidecar"]);
      expect(before.metadata.annotations?.["kubectl.kubernetes.io/last-applied-configuration"]).toContain('"tier":"frontend"');

      expect(await apply(webV2)).toMatchObject({ code: 0, stdout: "deployment.apps/web configured\n" });
      const after = await deployment("web");
      expect(after.metadata.labels).toEqual({ app: "web" });
      expect(after.spec.strategy).toEqual({ type: "Recreate" });
      expect(after.spec.template.spec.containers).toEqual([expect.objectContaining({ name: "nginx", image: "nginx:1.27", ports: [{ containerPort: 80, protocol: "TCP" }] })]);
      expect(after.metadata.generation).toBe(before.metadata.generation + 1);
      expect(after.metadata.annotations?.["kubectl.kubernetes.io/last-applied-configuration"]).not.toContain("tier");

      expect(await apply(webV2)).toMatchObject({ code: 0, stdout: "deployment.apps/web unchanged\n" });
    });

    it("server-side apply: a second field manager conflicts on .spec.replicas until it forces", async () => {
      expect(await apply(apiDeployment(2), ["--server-side"])).toMatchObject({ code: 0, stdout: "deployment.apps/api serverside-applied\n" });

      // An autoscaler applies only the field it cares about.
      const replicasOnly = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 5\n";
      const conflict = await apply(replicasOnly, ["--server-side", "--field-manager=autoscaler"]);
      expect(conflict.code).toBe(1);
      expect(conflict.stderr).toMatch(/^error: Apply failed with 1 conflict: conflict with "kubectl"[^:]*: \.spec\.replicas$/m);
      expect(conflict.stderr).toContain("--force-conflicts");
      expect((await deployment("api")).spec.replicas).toBe(2);

      expect(await apply(replicasOnly, ["--server-side", "--field-manager=autoscaler", "--force-conflicts"])).toMatchObject({ code: 0, stdout: "deployment.apps/api serverside-applied\n" });
      const d = await deployment("api");
      expect(d.spec.replicas).toBe(5);
      // The field changed hands: kubectl no longer manages .spec.replicas, the autoscaler does.
      const owned = Object.fromEntries((d.metadata.managedFields ?? []).map((f) => [`${f.manager}/${f.operation}`, Object.keys(f.fieldsV1?.["f:spec"] ?? {}).sort()]));
      expect(owned).toEqual({ "kubectl/Apply": ["f:selector", "f:template"], "autoscaler/Apply": ["f:replicas"] });

      // kubectl's next apply with its old replicas now conflicts the other way; one with the image only goes through.
      const back = await apply(apiDeployment(2).replace("api:1.0", "api:1.1"), ["--server-side"]);
      expect(back.code).toBe(1);
      expect(back.stderr).toMatch(/conflict with "autoscaler"[^:]*: \.spec\.replicas$/m);
      const imageOnly = apiDeployment(2).replace("api:1.0", "api:1.1").replace("  replicas: 2\n", "");
      expect(await apply(imageOnly, ["--server-side"])).toMatchObject({ code: 0 });
      const d2 = await deployment("api");
      expect(d2.spec.template.spec.containers[0]!.image).toBe("registry.example/api:1.1");
      expect(d2.spec.replicas).toBe(5);
    });

    it("get prints yaml, json, jsonpath and name", async () => {
      const yaml = await k.ok(["get", "deployment", "web", ...n, "-o", "yaml"]);
      expect(yaml).toMatch(/^apiVersion: apps\/v1\nkind: Deployment\n/);
      expect(yaml).toContain(`  name: web\n  namespace: ${ns}\n`);
      expect(yaml).toContain("      - image: nginx:1.27\n");
      expect(yaml).toContain("    type: Recreate\n");

      const list = JSON.parse(await k.ok(["get", "deployments", ...n, "-o", "json"])) as { kind: string; items: Deployment[] };
      expect(list.kind).toBe("List");
      expect(list.items.map((d) => d.metadata.name).sort()).toEqual(["api", "web"]);

      expect(await k.ok(["get", "deployment", "web", ...n, "-o", "jsonpath={.spec.template.spec.containers[*].image}"])).toBe("nginx:1.27");
      expect(await k.ok(["get", "deployments", ...n, "-o", `jsonpath={range .items[*]}{.metadata.name}={.spec.replicas}{"\\n"}{end}`])).toBe("api=5\nweb=2\n");
      expect(await k.ok(["get", "deployments", ...n, "-o", "name"])).toBe("deployment.apps/api\ndeployment.apps/web\n");
    });

    it("get prints the server's table: default columns, -o wide, --show-labels and -A", async () => {
      const plain = await k.ok(["get", "deployments", ...n]);
      expect(headerOf(plain)).toEqual(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
      expect(table(plain)).toEqual([
        expect.objectContaining({ NAME: "api", READY: "0/5" }),
        expect.objectContaining({ NAME: "web", READY: "0/2", "UP-TO-DATE": "0", AVAILABLE: "0", AGE: expect.stringMatching(/^\d+(s|m\d*s?)$/) }),
      ]);

      const wide = await k.ok(["get", "deployment", "web", ...n, "-o", "wide"]);
      expect(headerOf(wide)).toEqual(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]);
      expect(table(wide)[0]).toMatchObject({ NAME: "web", CONTAINERS: "nginx", IMAGES: "nginx:1.27", SELECTOR: "app=web" });

      const labels = await k.ok(["get", "deployment", "web", ...n, "--show-labels"]);
      expect(table(labels)[0]).toMatchObject({ NAME: "web", LABELS: "app=web" });

      // --sort-by asks for whole objects in the rows (includeObject=Object) and sorts on the client.
      expect(table(await k.ok(["get", "deployments", ...n, "--sort-by=.spec.replicas"])).map((r) => r.NAME)).toEqual(["web", "api"]);

      const all = await k.ok(["get", "deployments", "-A"]);
      expect(headerOf(all)[0]).toBe("NAMESPACE");
      expect(table(all)).toEqual(expect.arrayContaining([expect.objectContaining({ NAMESPACE: ns, NAME: "web" }), expect.objectContaining({ NAMESPACE: ns, NAME: "api" })]));
    });

    it("get filters with -l and --field-selector", async () => {
      expect(await apply(pod("solo"))).toMatchObject({ code: 0 });
      const names = async (args: string[]) => table(await k.ok(["get", ...args, ...n])).map((r) => r.NAME);
      expect(await names(["deployments", "-l", "app=web"])).toEqual(["web"]);
      expect(await names(["deployments", "-l", "app in (api,zzz)"])).toEqual(["api"]);
      expect(await names(["deployments", "-l", "app!=web"])).toEqual(["api"]);
      expect(await names(["deployments", "-l", "!tier"])).toEqual(["api", "web"]);
      expect(await names(["deployments", "--field-selector", "metadata.name=api"])).toEqual(["api"]);
      expect(await names(["pods", "--field-selector", "status.phase=Pending"])).toEqual(["solo"]);
      expect(await names(["pods", "--field-selector", "spec.nodeName="])).toEqual(["solo"]);

      const none = await k.run(["get", "deployments", ...n, "-l", "app=nothing"]);
      expect(none).toMatchObject({ code: 0, stdout: "" });
      expect(none.stderr).toBe(`No resources found in ${ns} namespace.\n`);

      const bad = await k.run(["get", "pods", ...n, "--field-selector", "spec.color=blue"]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("BadRequest");
      expect(bad.stderr).toContain("spec.color");
    });

    it("get --chunk-size=2 pages through a list with limit and continue", async () => {
      expect((await k.run(["apply", "-f", "-", ...n], { input: configMaps(5) })).code).toBe(0);
      const r = await k.run(["get", "configmaps", ...n, "-l", "book=paging", "--chunk-size=2", "-v=6"]);
      expect(r.code).toBe(0);
      expect(table(r.stdout).map((row) => row.NAME)).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4"]);
      const requests = r.stderr.split("\n").filter((l) => l.includes(`/namespaces/${ns}/configmaps?`));
      expect(requests).toHaveLength(3);
      expect(requests[0]).toMatch(/limit=2/);
      expect(requests[0]).not.toMatch(/continue=/);
      for (const later of requests.slice(1)) expect(later).toMatch(/continue=[^&" ]+&labelSelector=book%3Dpaging&limit=2/);
    });

    it("get -w prints a new row when the object changes", async () => {
      const w = k.spawn(["get", "deployments", ...n, "-w"]);
      try {
        await w.waitFor(/\nweb +0\/2 /);
        expect(await k.ok(["scale", "deployment", "web", ...n, "--replicas=3"])).toBe("deployment.apps/web scaled\n");
        await w.waitFor(/\nweb +0\/3 /);
        await k.ok(["delete", "deployment", "api", ...n, "--wait=false"]);
        // A deletion is printed as one last row for api.
        await w.waitFor(/\napi +0\/5 [^\n]*\n(.*\n)*api +0\/5 /);
      } finally {
        await w.stop();
      }
      // Every event came as a row of the same table: one header only.
      expect(w.output().match(/NAME +READY/g)).toHaveLength(1);
    });

    it("get --raw reaches the health, version and discovery endpoints", async () => {
      const [readyz, livez, healthz, verbose, ver, apis] = await Promise.all(
        ["/readyz", "/livez", "/healthz", "/readyz?verbose", "/version", "/apis"].map((p) => k.ok(["get", "--raw", p])),
      );
      expect([readyz, livez, healthz]).toEqual(["ok", "ok", "ok"]);
      expect(verbose).toMatch(/\[\+\]ping ok\n/);
      expect(verbose).toMatch(/\[\+\]etcd ok\n/);
      expect(verbose).toContain("readyz check passed");
      expect(JSON.parse(ver)).toMatchObject({ major: "1", gitVersion: expect.stringMatching(/^v1\.\d+\.\d+/) });
      expect(JSON.parse(apis)).toMatchObject({ kind: "APIGroupList", groups: expect.arrayContaining([expect.objectContaining({ name: "apps" })]) });
      const missing = await k.run(["get", "--raw", "/nope"]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("NotFound");
    });

    it("describe shows a Deployment's replicas, strategy and template", async () => {
      const out = await k.ok(["describe", "deployment", "web", ...n]);
      expect(out).toMatch(/^Name: +web$/m);
      expect(out).toMatch(new RegExp(`^Namespace: +${ns}$`, "m"));
      expect(out).toMatch(/^Selector: +app=web$/m);
      expect(out).toMatch(/^Replicas: +3 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable$/m);
      expect(out).toMatch(/^StrategyType: +Recreate$/m);
      expect(out).toMatch(/^ {3}nginx:\n {4}Image: +nginx:1\.27$/m);
      expect(out).toMatch(/^ {4}Port: +80\/TCP$/m);
    });

    it("describe shows an Event about a Pod under Events", async () => {
      const uid = await k.ok(["get", "pod", "solo", ...n, "-o", "jsonpath={.metadata.uid}"]);
      const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      const event = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "solo.book-1", namespace: ns },
        involvedObject: { apiVersion: "v1", kind: "Pod", namespace: ns, name: "solo", uid },
        reason: "FailedScheduling",
        message: "0/0 nodes are available: no nodes registered yet.",
        type: "Warning",
        source: { component: "default-scheduler" },
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
      };
      expect(await post(`/api/v1/namespaces/${ns}/events`, event)).toBe(201);
      // An event about another object must not show up.
      const other = { ...event, metadata: { name: "other.book-1", namespace: ns }, involvedObject: { ...event.involvedObject, name: "someone-else", uid: "0000" }, reason: "Other" };
      expect(await post(`/api/v1/namespaces/${ns}/events`, other)).toBe(201);

      const out = await k.ok(["describe", "pod", "solo", ...n]);
      expect(out).toMatch(/^Status: +Pending$/m);
      expect(out).toMatch(/^Node: +<none>$/m);
      const events = out.slice(out.indexOf("\nEvents:"));
      expect(events).toMatch(/Type +Reason +Age +From +Message/);
      expect(events).toMatch(/Warning +FailedScheduling +\S+ +default-scheduler +0\/0 nodes are available: no nodes registered yet\./);
      expect(events).not.toContain("Other");
    });

    it("label and annotate add and (with key-) remove metadata", async () => {
      expect(await k.ok(["label", "deployment", "web", ...n, "team=blue"])).toBe("deployment.apps/web labeled\n");
      // kubectl 1.27 itself prints "annotate" here; later versions say "annotated".
      expect(await k.ok(["annotate", "deployment", "web", ...n, "book/chapter=3"])).toMatch(/^deployment\.apps\/web annotated?\n$/);
      let d = await deployment("web");
      expect(d.metadata.labels).toEqual({ app: "web", team: "blue" });
      expect(d.metadata.annotations?.["book/chapter"]).toBe("3");

      const clash = await k.run(["label", "deployment", "web", ...n, "team=red"]);
      expect(clash.code).toBe(1);
      expect(clash.stderr).toContain("'team' already has a value (blue), and --overwrite is false");
      expect(await k.ok(["label", "deployment", "web", ...n, "team=red", "--overwrite"])).toBe("deployment.apps/web labeled\n");
      expect(table(await k.ok(["get", "deployments", ...n, "-l", "team=red"])).map((r) => r.NAME)).toEqual(["web"]);

      expect(await k.ok(["label", "deployment", "web", ...n, "team-"])).toBe("deployment.apps/web unlabeled\n");
      await k.ok(["annotate", "deployment", "web", ...n, "book/chapter-"]);
      d = await deployment("web");
      expect(d.metadata.labels).toEqual({ app: "web" });
      expect(d.metadata.annotations?.["book/chapter"]).toBeUndefined();
    });

    it("patch --type strategic, merge and json", async () => {
      // Strategic: containers merge by name, so the sidecar joins nginx instead of replacing it.
      expect(await k.ok(["patch", "deployment", "web", ...n, "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"log","image":"busybox:1.36"}]}}}}'])).toBe(
        "deployment.apps/web patched\n",
      );
      let d = await deployment("web");
      expect(d.spec.template.spec.containers.map((c) => `${c.name}=${c.image}`)).toEqual(["log=busybox:1.36", "nginx=nginx:1.27"]);

      // Merge (RFC 7386): a list is replaced whole.
      await k.ok(["patch", "deployment", "web", ...n, "--type=merge", "-p", '{"spec":{"minReadySeconds":5,"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27.1"}]}}}}']);
      d = await deployment("web");
      expect(d.spec.minReadySeconds).toBe(5);
      expect(d.spec.template.spec.containers.map((c) => `${c.name}=${c.image}`)).toEqual(["nginx=nginx:1.27.1"]);

      // JSON patch (RFC 6902), including a failing test op.
      await k.ok(["patch", "deployment", "web", ...n, "--type=json", "-p", '[{"op":"replace","path":"/spec/replicas","value":2},{"op":"remove","path":"/spec/minReadySeconds"}]']);
      d = await deployment("web");
      expect(d.spec.replicas).toBe(2);
      expect(d.spec.minReadySeconds ?? 0).toBe(0);
      const failed = await k.run(["patch", "deployment", "web", ...n, "--type=json", "-p", '[{"op":"test","path":"/spec/replicas","value":9}]']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain("/spec/replicas");

      expect(await k.ok(["patch", "deployment", "web", ...n, "-p", '{"spec":{"replicas":2}}'])).toBe("deployment.apps/web patched (no change)\n");
    });

    it("scale, and --current-replicas as a precondition", async () => {
      expect(await k.ok(["scale", "deployment/web", ...n, "--replicas=4"])).toBe("deployment.apps/web scaled\n");
      expect(await k.ok(["scale", "deployment/web", ...n, "--current-replicas=4", "--replicas=5"])).toBe("deployment.apps/web scaled\n");
      const stale = await k.run(["scale", "deployment/web", ...n, "--current-replicas=2", "--replicas=6"]);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toContain("Expected replicas to be 2, was 5");
      expect((await deployment("web")).spec.replicas).toBe(5);
    });

    it("replace with a stale resourceVersion is refused with Conflict", async () => {
      const old = await k.ok(["get", "deployment", "web", ...n, "-o", "json"]);
      await k.ok(["label", "deployment", "web", ...n, "touched=yes"]);
      const r = await k.run(["replace", "-f", "-"], { input: old.replace('"replicas": 5', '"replicas": 1') });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
      );
      expect((await deployment("web")).spec.replicas).toBe(5);

      const fresh = (await k.ok(["get", "deployment", "web", ...n, "-o", "json"])).replace('"replicas": 5', '"replicas": 1');
      expect(await k.ok(["replace", "-f", "-"], { input: fresh })).toBe("deployment.apps/web replaced\n");
      expect((await deployment("web")).spec.replicas).toBe(1);
    });

    it("a CRD makes a new kind: printer columns, short name and schema validation", async () => {
      const crd = await k.run(["apply", "-f", "-"], { input: crontabCrd });
      expect(crd.code).toBe(0);
      expect(crd.stdout).toMatch(/^customresourcedefinition\.apiextensions\.k8s\.io\/crontabs\.stable\.example\.com (created|unchanged)\n$/);
      await k.ok(["wait", "--for=condition=Established", "crd/crontabs.stable.example.com", "--timeout=30s"]);

      expect(await apply(crontab("nightly", 2))).toMatchObject({ code: 0, stdout: "crontab.stable.example.com/nightly created\n" });
      const out = await k.ok(["get", "ct", ...n]);
      expect(headerOf(out)).toEqual(["NAME", "SPEC", "REPLICAS", "AGE"]);
      expect(table(out)).toEqual([{ NAME: "nightly", SPEC: "0 3 * * *", REPLICAS: "2", AGE: expect.stringMatching(/^\d+s$/) }]);

      const bad = await apply(crontab("broken", 50));
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('The CronTab "broken" is invalid');
      expect(bad.stderr).toMatch(/spec\.replicas: Invalid value: 50: spec\.replicas in body should be less than or equal to 10/);
      const noImage = await apply(crontab("noimage", 1).replace("  image: backup:1.0\n", ""));
      expect(noImage.code).toBe(1);
      expect(noImage.stderr).toMatch(/spec\.image: Required value/);
      expect((await k.run(["get", "crontab", "broken", ...n])).code).toBe(1);
    });

    it("explain reads the OpenAPI schema of a built-in kind and of the custom one", async () => {
      const strategy = await k.ok(["explain", "deployment.spec.strategy"]);
      expect(strategy).toMatch(/^GROUP: +apps$/m);
      expect(strategy).toMatch(/^KIND: +Deployment$/m);
      expect(strategy).toMatch(/^FIELD: +strategy <DeploymentStrategy>$/m);
      expect(strategy).toMatch(/^ {2}rollingUpdate\t<RollingUpdateDeployment>$/m);
      expect(strategy).toMatch(/^ {2}type\t<string>$/m);

      const ct = await k.ok(["explain", "crontab.spec"]);
      expect(ct).toMatch(/^KIND: +CronTab$/m);
      expect(ct).toContain("What to run and when.");
      expect(ct).toMatch(/^ {2}cronSpec\t<string> -required-\n {4}The schedule in cron format\.$/m);
      expect(ct).toMatch(/^ {2}replicas\t<integer>$/m);
    });

    it("api-resources and api-versions list what discovery serves; get all follows the all category", async () => {
      const [resources, versionsOut, all] = await Promise.all([k.ok(["api-resources"]), k.ok(["api-versions"]), k.ok(["get", "all", ...n])]);
      const rows = table(resources);
      expect(headerOf(resources)).toEqual(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]);
      expect(rows).toEqual(
        expect.arrayContaining([
          { NAME: "pods", SHORTNAMES: "po", APIVERSION: "v1", NAMESPACED: "true", KIND: "Pod" },
          { NAME: "namespaces", SHORTNAMES: "ns", APIVERSION: "v1", NAMESPACED: "false", KIND: "Namespace" },
          { NAME: "deployments", SHORTNAMES: "deploy", APIVERSION: "apps/v1", NAMESPACED: "true", KIND: "Deployment" },
          { NAME: "crontabs", SHORTNAMES: "ct", APIVERSION: "stable.example.com/v1", NAMESPACED: "true", KIND: "CronTab" },
        ]),
      );
      expect(versionsOut.split("\n")).toEqual(expect.arrayContaining(["v1", "apps/v1", "apiextensions.k8s.io/v1", "stable.example.com/v1"]));
      expect(all).toMatch(/^pod\/solo +0\/1 +Pending /m);
      expect(all).toMatch(/^deployment\.apps\/web +/m);
      expect(all).toMatch(/^crontab\.stable\.example\.com\/nightly +0 3 \* \* \* +2 /m);
      expect(all).not.toContain("configmap");
    });

    it("--dry-run=server answers as if it wrote, and writes nothing", async () => {
      const changed = await apply(webV2.replace("nginx:1.27", "nginx:9.9"), ["--dry-run=server"]);
      expect(changed).toMatchObject({ code: 0, stdout: "deployment.apps/web configured (server dry run)\n" });
      expect((await deployment("web")).spec.template.spec.containers.map((c) => c.image)).toEqual(["nginx:1.27.1"]);

      const created = await apply(pod("ghost"), ["--dry-run=server"]);
      expect(created).toMatchObject({ code: 0, stdout: "pod/ghost created (server dry run)\n" });
      expect((await k.run(["get", "pod", "ghost", ...n])).code).toBe(1);
    });

    it("diff shows what apply would change and exits 0 when nothing would", async () => {
      await k.ok(["apply", "-f", "-", ...n], { input: simpleDeployment("differ") });
      const same = await k.run(["diff", "-f", "-", ...n], { input: simpleDeployment("differ") });
      expect(same).toMatchObject({ code: 0, stdout: "" });
      const changed = await k.run(["diff", "-f", "-", ...n], { input: simpleDeployment("differ", "nginx:1.28") });
      expect(changed.code).toBe(1);
      expect(changed.stdout).toMatch(/^-      - image: nginx:1\.27$/m);
      expect(changed.stdout).toMatch(/^\+      - image: nginx:1\.28$/m);
      expect(changed.stdout).toMatch(/^-  generation: 1$/m);
      expect(changed.stdout).toMatch(/^\+  generation: 2$/m);
      expect(await k.ok(["get", "deployment", "differ", ...n, "-o", "jsonpath={.spec.template.spec.containers[0].image}"])).toBe("nginx:1.27");
    });

    it("rollout status waits until the Deployment's status catches up", async () => {
      const d = await deployment("web");
      const rollout = k.spawn(["rollout", "status", "deployment/web", ...n, "-v=6"]);
      try {
        await rollout.waitFor(/watch=true/, { stderr: true });
        // Play the Deployment controller: report every replica updated and available.
        const r = d.spec.replicas;
        const status = { observedGeneration: d.metadata.generation, replicas: r, updatedReplicas: r, readyReplicas: r, availableReplicas: r };
        await k.ok(["patch", "deployment", "web", ...n, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
        const done = await rollout.done();
        expect(done.code).toBe(0);
        expect(done.stdout).toBe('Waiting for deployment spec update to be observed...\ndeployment "web" successfully rolled out\n');
      } finally {
        await rollout.stop();
      }
      expect(table(await k.ok(["get", "deployment", "web", ...n]))[0]).toMatchObject({ READY: "1/1", "UP-TO-DATE": "1", AVAILABLE: "1" });
    });

    it("edit, set image and rollout restart change the Deployment", async () => {
      // The "editor" is sed: kubectl runs it on the object's YAML and sends what changed. Editing
      // status.replicas along with spec.replicas changes nothing there: status is not written this way.
      const editor = "sed -i -e 's/^  replicas: 1$/  replicas: 3/'";
      expect(await k.ok(["edit", "deployment", "web", ...n], { env: { KUBE_EDITOR: editor } })).toBe("deployment.apps/web edited\n");
      let d = (await deployment("web")) as Deployment & { status: { replicas?: number } };
      expect(d.spec.replicas).toBe(3);
      expect(d.status.replicas).toBe(1);

      expect(await k.ok(["set", "image", "deployment/web", ...n, "nginx=nginx:1.28"])).toBe("deployment.apps/web image updated\n");
      expect(await k.ok(["rollout", "restart", "deployment/web", ...n])).toBe("deployment.apps/web restarted\n");
      d = (await deployment("web")) as Deployment & { status: { replicas?: number } };
      expect(d.spec.template.spec.containers.map((c) => c.image)).toEqual(["nginx:1.28"]);
      expect((d.spec.template.metadata as { annotations?: Record<string, string> }).annotations?.["kubectl.kubernetes.io/restartedAt"]).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it("delete: a Deployment, an unscheduled Pod at once, a bound Pod after its grace period", async () => {
      // wait --for=delete watches until the object is gone.
      const waiting = k.spawn(["wait", "--for=delete", "deployment/differ", ...n, "--timeout=30s", "-v=6"]);
      try {
        await waiting.waitFor(/watch=true/, { stderr: true });
        expect(await k.ok(["delete", "deployment", "differ", ...n])).toBe('deployment.apps "differ" deleted\n');
        const r = await waiting.done();
        expect(r.code).toBe(0);
        expect(r.stdout).toBe("deployment.apps/differ condition met\n");
      } finally {
        await waiting.stop();
      }
      expect((await k.run(["get", "deployment", "differ", ...n])).code).toBe(1);

      // No node was ever chosen, so no kubelet has to confirm: the pod goes at once, grace or not.
      await apply(pod("quick"));
      expect(await k.ok(["delete", "pod", "quick", ...n, "--grace-period=30", "--wait=false"])).toBe('pod "quick" deleted\n');
      expect((await k.run(["get", "pod", "quick", ...n])).stderr).toContain('pods "quick" not found');

      // Bound to a node, it stays Terminating for its kubelet until forced.
      await apply(pod("bound", "\n  nodeName: node-that-is-not-there"));
      await k.ok(["delete", "pod", "bound", ...n, "--grace-period=30", "--wait=false"]);
      const p = await getJson<{ metadata: { deletionTimestamp?: string; deletionGracePeriodSeconds?: number } }>(["pod", "bound", ...n]);
      expect(p.metadata.deletionTimestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(p.metadata.deletionGracePeriodSeconds).toBe(30);
      expect(table(await k.ok(["get", "pod", "bound", ...n]))[0]).toMatchObject({ NAME: "bound", STATUS: "Terminating" });
      const forced = await k.run(["delete", "pod", "bound", ...n, "--grace-period=0", "--force"]);
      expect(forced).toMatchObject({ code: 0, stdout: 'pod "bound" force deleted\n' });
      expect((await k.run(["get", "pod", "bound", ...n])).code).toBe(1);
    });

    it("errors: NotFound, AlreadyExists and an invalid Deployment, each with exit code 1", async () => {
      const missing = await k.run(["get", "deployment", "nope", ...n]);
      expect(missing).toMatchObject({ code: 1, stdout: "" });
      expect(missing.stderr).toBe('Error from server (NotFound): deployments.apps "nope" not found\n');

      const missingCr = await k.run(["get", "crontab", "nope", ...n]);
      expect(missingCr.stderr).toBe('Error from server (NotFound): crontabs.stable.example.com "nope" not found\n');

      const exists = await k.run(["create", "-f", "-", ...n], { input: webV2 });
      expect(exists.code).toBe(1);
      expect(exists.stderr).toBe('Error from server (AlreadyExists): error when creating "STDIN": deployments.apps "web" already exists\n');

      const invalid = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad
spec:
  replicas: -1
  selector:
    matchLabels:
      app: bad
  template:
    metadata:
      labels:
        app: other
    spec:
      containers:
      - name: main
        image: nginx:1.27
`;
      const r = await k.run(["apply", "-f", "-", ...n], { input: invalid });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('The Deployment "bad" is invalid');
      expect(r.stderr).toMatch(/spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
      expect(r.stderr).toMatch(/spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/);
      expect((await k.run(["get", "deployment", "bad", ...n])).code).toBe(1);

      const unknown = await k.run(["get", "flurbs"]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('the server doesn\'t have a resource type "flurbs"');
    });
  });
});
