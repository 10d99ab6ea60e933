// Book 11.2: strategic merge patch, tested with the bodies kubectl really sends (client-side apply,
// set image, rollout restart, patch) against a fixture Deployment schema.
import { StatusError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { NOT_APPLICABLE_MESSAGE } from "./errors.js";
import { applyStrategicMergePatch } from "./strategic.js";
import { deploymentSchema, fixtureResolver } from "./test-helpers.js";

const { schema, resolver } = deploymentSchema();

function smp(doc: unknown, patch: unknown): any {
  return applyStrategicMergePatch(doc, patch, schema, resolver);
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function errorOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error("expected a StatusError");
}

/** A live Deployment, frozen so that any write to it fails the test. */
function liveDeployment(): any {
  return deepFreeze({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "default",
      labels: { app: "web", tier: "frontend" },
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}\n" },
      finalizers: ["a/b", "c/d"],
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "nginx",
              image: "nginx:1.25",
              args: ["a", "b"],
              env: [
                { name: "A", value: "1" },
                { name: "B", value: "1" },
              ],
              ports: [{ containerPort: 80, protocol: "TCP" }],
            },
            { name: "sidecar", image: "busybox:1.36" },
          ],
          volumes: [{ name: "v1", emptyDir: {} }],
          tolerations: [{ key: "k1", operator: "Exists" }],
        },
      },
    },
  });
}

describe("strategic merge patch: kubectl apply bodies", () => {
  it("changes image and replicas, keeping the container order $setElementOrder gives", () => {
    const patch = {
      metadata: { annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"kind":"Deployment"}\n' } },
      spec: {
        replicas: 3,
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "nginx" }, { name: "sidecar" }],
            containers: [{ image: "nginx:1.26", name: "nginx" }],
          },
        },
      },
    };
    const out = smp(liveDeployment(), patch);
    expect(out.spec.replicas).toBe(3);
    expect(out.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]).toBe('{"kind":"Deployment"}\n');
    expect(out.spec.template.spec.containers).toEqual([
      { ...liveDeployment().spec.template.spec.containers[0], image: "nginx:1.26" },
      { name: "sidecar", image: "busybox:1.36" },
    ]);
    // Nothing else moved, and no directive is left behind.
    expect(out.spec.strategy).toEqual(liveDeployment().spec.strategy);
    expect(JSON.stringify(out)).not.toContain("$setElementOrder");
  });

  it("removes a container with $patch: delete and labels with null", () => {
    const patch = {
      metadata: { labels: null },
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "sidecar" }],
            containers: [{ image: "busybox:1.37", name: "sidecar" }, { $patch: "delete", name: "nginx" }],
          },
        },
      },
    };
    const out = smp(liveDeployment(), patch);
    expect(out.metadata.labels).toBeUndefined();
    expect("labels" in out.metadata).toBe(false);
    expect(out.spec.template.spec.containers).toEqual([{ name: "sidecar", image: "busybox:1.37" }]);
  });

  it("switches the strategy RollingUpdate → Recreate with $retainKeys", () => {
    const patch = { spec: { strategy: { $retainKeys: ["type"], rollingUpdate: null, type: "Recreate" } } };
    expect(smp(liveDeployment(), patch).spec.strategy).toEqual({ type: "Recreate" });
  });

  it("$retainKeys clears members the patch does not mention", () => {
    // Even without rollingUpdate: null, an unlisted live member goes.
    const patch = { spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } };
    expect(smp(liveDeployment(), patch).spec.strategy).toEqual({ type: "Recreate" });
  });

  it("swaps a volume source with $retainKeys and emptyDir: null", () => {
    const patch = {
      spec: {
        template: {
          spec: {
            "$setElementOrder/volumes": [{ name: "v1" }],
            volumes: [{ $retainKeys: ["configMap", "name"], configMap: { name: "cm" }, emptyDir: null, name: "v1" }],
          },
        },
      },
    };
    expect(smp(liveDeployment(), patch).spec.template.spec.volumes).toEqual([{ name: "v1", configMap: { name: "cm" } }]);
  });

  it("removes a finalizer with $deleteFromPrimitiveList and orders the rest", () => {
    const patch = { metadata: { "$deleteFromPrimitiveList/finalizers": ["c/d"], "$setElementOrder/finalizers": ["a/b"] } };
    expect(smp(liveDeployment(), patch).metadata.finalizers).toEqual(["a/b"]);
  });

  it("adds a finalizer to the set without duplicating existing ones", () => {
    const out = smp(liveDeployment(), { metadata: { finalizers: ["c/d", "e/f"] } });
    expect(out.metadata.finalizers).toEqual(["a/b", "c/d", "e/f"]);
  });

  it("replaces an atomic list (args) whole", () => {
    const patch = {
      spec: { template: { spec: { "$setElementOrder/containers": [{ name: "nginx" }, { name: "sidecar" }], containers: [{ args: ["b"], name: "nginx" }] } } },
    };
    expect(smp(liveDeployment(), patch).spec.template.spec.containers[0].args).toEqual(["b"]);
  });

  it("replaces a list that has no merge strategy (tolerations) whole", () => {
    const patch = { spec: { template: { spec: { tolerations: [{ key: "k2", operator: "Equal" }] } } } };
    expect(smp(liveDeployment(), patch).spec.template.spec.tolerations).toEqual([{ key: "k2", operator: "Equal" }]);
  });

  it("merges env by name: changes one, adds one, removes one, keeps the others", () => {
    const patch = {
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "nginx" }, { name: "sidecar" }],
            containers: [
              {
                name: "nginx",
                "$setElementOrder/env": [{ name: "B" }, { name: "C" }],
                env: [
                  { name: "B", value: "2" },
                  { name: "C", value: "3" },
                  { $patch: "delete", name: "A" },
                ],
              },
            ],
          },
        },
      },
    };
    expect(smp(liveDeployment(), patch).spec.template.spec.containers[0].env).toEqual([
      { name: "B", value: "2" },
      { name: "C", value: "3" },
    ]);
  });

  it("a server-only list item keeps its place when the patch adds one after deleting another", () => {
    // Live env [A, B, X]; X was added by someone else. The patch deletes A and adds C after B.
    const live = liveDeployment();
    const doc = structuredClone(live);
    doc.spec.template.spec.containers[0].env.push({ name: "X", value: "x" });
    const patch = {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "nginx",
                "$setElementOrder/env": [{ name: "B" }, { name: "C" }],
                env: [{ name: "C", value: "3" }, { $patch: "delete", name: "A" }],
              },
            ],
          },
        },
      },
    };
    expect(smp(doc, patch).spec.template.spec.containers[0].env.map((e: any) => e.name)).toEqual(["B", "X", "C"]);
  });
});

describe("strategic merge patch: other kubectl commands", () => {
  it("applies `kubectl set image`'s body", () => {
    const patch = {
      spec: { template: { spec: { "$setElementOrder/containers": [{ name: "nginx" }], containers: [{ image: "nginx:1.27", name: "nginx" }] } } },
    };
    const out = smp(liveDeployment(), patch);
    expect(out.spec.template.spec.containers.map((c: any) => [c.name, c.image])).toEqual([
      ["nginx", "nginx:1.27"],
      ["sidecar", "busybox:1.36"],
    ]);
  });

  it("applies `kubectl rollout restart`'s body", () => {
    const patch = { spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2024-05-01T10:00:00Z" } } } } };
    const out = smp(liveDeployment(), patch);
    expect(out.spec.template.metadata).toEqual({
      labels: { app: "web" },
      annotations: { "kubectl.kubernetes.io/restartedAt": "2024-05-01T10:00:00Z" },
    });
  });

  it("applies `kubectl edit`'s body", () => {
    const out = smp(liveDeployment(), { spec: { replicas: 7 } });
    expect(out).toEqual({ ...liveDeployment(), spec: { ...liveDeployment().spec, replicas: 7 } });
  });

  it("puts a new container first when the patch has no $setElementOrder (as upstream)", () => {
    const patch = { spec: { template: { spec: { containers: [{ name: "logger", image: "fluentbit" }] } } } };
    expect(smp(liveDeployment(), patch).spec.template.spec.containers.map((c: any) => c.name)).toEqual(["logger", "nginx", "sidecar"]);
  });

  it("merges container ports by containerPort", () => {
    const patch = { spec: { template: { spec: { containers: [{ name: "nginx", ports: [{ containerPort: 80, name: "http" }] }] } } } };
    expect(smp(liveDeployment(), patch).spec.template.spec.containers[0].ports).toEqual([{ containerPort: 80, protocol: "TCP", name: "http" }]);
  });
});

describe("strategic merge patch: directives", () => {
  it("$patch: replace in a map replaces the map", () => {
    const patch = { metadata: { labels: { $patch: "replace", team: "blue" } } };
    expect(smp(liveDeployment(), patch).metadata.labels).toEqual({ team: "blue" });
  });

  it("$patch: delete in a map empties it, as upstream", () => {
    expect(smp(liveDeployment(), { spec: { selector: { $patch: "delete" } } }).spec.selector).toEqual({});
  });

  it("a map with $patch that the live object lacks is replaced or left out", () => {
    const out = smp(liveDeployment(), { spec: { template: { spec: { nodeSelector: { $patch: "replace", zone: "a" } } } } });
    expect(out.spec.template.spec.nodeSelector).toEqual({ zone: "a" });
    const gone = smp(liveDeployment(), { spec: { template: { spec: { nodeSelector: { $patch: "delete" } } } } });
    expect("nodeSelector" in gone.spec.template.spec).toBe(false);
  });

  it("a list containing {$patch: replace} replaces the list", () => {
    const patch = { spec: { template: { spec: { containers: [{ $patch: "replace" }, { name: "only", image: "x" }] } } } };
    expect(smp(liveDeployment(), patch).spec.template.spec.containers).toEqual([{ name: "only", image: "x" }]);
  });

  it("deleting an element that is not there changes nothing", () => {
    const patch = { spec: { template: { spec: { containers: [{ $patch: "delete", name: "ghost" }] } } } };
    expect(smp(liveDeployment(), patch)).toEqual(liveDeployment());
  });

  it("strips directives and nulls from values the live object did not have", () => {
    const doc = { metadata: { name: "x" } };
    const patch = {
      spec: {
        strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: null },
        template: { spec: { "$setElementOrder/containers": [{ name: "a" }], containers: [{ name: "a", env: [{ name: "E", valueFrom: null }] }] } },
      },
    };
    expect(smp(doc, patch)).toEqual({
      metadata: { name: "x" },
      spec: { strategy: { type: "Recreate" }, template: { spec: { containers: [{ name: "a", env: [{ name: "E" }] }] } } },
    });
  });

  it("a null patch changes nothing; a patch at the root with $patch: replace replaces everything", () => {
    expect(smp(liveDeployment(), null)).toEqual(liveDeployment());
    expect(smp(liveDeployment(), { $patch: "replace", kind: "Deployment" })).toEqual({ kind: "Deployment" });
  });

  it("never modifies its inputs", () => {
    const patch = deepFreeze({
      metadata: { labels: null, "$deleteFromPrimitiveList/finalizers": ["a/b"] },
      spec: {
        strategy: { $retainKeys: ["type"], type: "Recreate" },
        template: { spec: { "$setElementOrder/containers": [{ name: "sidecar" }], containers: [{ name: "sidecar", image: "y" }, { $patch: "delete", name: "nginx" }] } },
      },
    });
    const live = liveDeployment();
    const out = smp(live, patch);
    expect(out).not.toBe(live);
    expect(live.spec.template.spec.containers).toHaveLength(2);
  });
});

describe("strategic merge patch without patch metadata", () => {
  const widgetSchema = fixtureResolver().forKind({ group: "example.com", version: "v1", kind: "Widget" });

  it("merges maps and replaces lists under preserve-unknown-fields", () => {
    const doc = { spec: { items: [{ name: "a", size: 1 }], opts: { x: 1, y: 2 } }, metadata: { finalizers: ["f1"] } };
    const patch = { spec: { items: [{ name: "b" }], opts: { y: null, z: 3 } }, metadata: { finalizers: ["f2"] } };
    expect(applyStrategicMergePatch(doc, patch, widgetSchema, resolver)).toEqual({
      spec: { items: [{ name: "b" }], opts: { x: 1, z: 3 } },
      // metadata still has its schema: finalizers merge (a new item leads, as upstream puts it).
      metadata: { finalizers: ["f2", "f1"] },
    });
  });

  it("behaves like a merge patch when there is no schema at all", () => {
    const doc = { a: { b: 1, c: [1, 2] }, d: "x" };
    expect(applyStrategicMergePatch(doc, { a: { b: null, c: [3] }, e: true }, undefined, resolver)).toEqual({ a: { c: [3] }, d: "x", e: true });
  });
});

describe("strategic merge patch errors", () => {
  it("rejects a body that is not an object with 400", () => {
    const err = errorOf(() => smp(liveDeployment(), [1, 2]));
    expect(err.code).toBe(400);
    expect(err.reason).toBe("BadRequest");
    expect(err.message).toBe("json: cannot unmarshal array into Go value of type map[string]interface {}");
  });

  it("rejects a patch member missing from $retainKeys with 400", () => {
    const err = errorOf(() => smp(liveDeployment(), { spec: { strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: { maxSurge: 1 } } } }));
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/^invalid patch format of retainKeys: "rollingUpdate" .* at spec\.strategy$/);
  });

  it("rejects $retainKeys that is not a list", () => {
    expect(errorOf(() => smp(liveDeployment(), { spec: { strategy: { $retainKeys: "type" } } })).code).toBe(400);
  });

  it("rejects an unknown $patch directive with 400", () => {
    const err = errorOf(() => smp(liveDeployment(), { metadata: { labels: { $patch: "merge-please" } } }));
    expect(err.code).toBe(400);
    expect(err.message).toContain('unknown patch type: "merge-please"');
    expect(errorOf(() => smp(liveDeployment(), { spec: { template: { spec: { containers: [{ $patch: "merge" }] } } } })).message).toContain(
      "merging lists cannot yet be specified in the patch",
    );
  });

  it("rejects a merge-list element without its merge key with 400", () => {
    const err = errorOf(() => smp(liveDeployment(), { spec: { template: { spec: { containers: [{ image: "x" }] } } } }));
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/does not contain declared merge key: name at spec\.template\.spec\.containers$/);
  });

  it("rejects a $setElementOrder that disagrees with the patch list with 400", () => {
    const patch = {
      spec: { template: { spec: { "$setElementOrder/containers": [{ name: "nginx" }, { name: "sidecar" }], containers: [{ name: "sidecar" }, { name: "nginx" }] } } },
    };
    const err = errorOf(() => smp(liveDeployment(), patch));
    expect(err.code).toBe(400);
    expect(err.message).toContain("invalid patch format of setElementOrder list");
  });

  it("rejects malformed directive keys and values with 400", () => {
    expect(errorOf(() => smp(liveDeployment(), { metadata: { $deleteFromPrimitiveListfinalizers: ["a/b"] } })).message).toContain(
      "invalid patch format of primitive list",
    );
    expect(errorOf(() => smp(liveDeployment(), { metadata: { "$deleteFromPrimitiveList/finalizers": "a/b" } })).code).toBe(400);
    expect(errorOf(() => smp(liveDeployment(), { metadata: { "$setElementOrder/finalizers": "a/b" } })).message).toContain(
      "invalid patch format of setElementOrder list",
    );
  });

  it("answers 422 for a merge list the patch cannot merge into", () => {
    const lists = errorOf(() => smp(liveDeployment(), { metadata: { finalizers: [["x"]] } }));
    expect(lists.code).toBe(422);
    expect(lists.reason).toBe("Invalid");
    expect(lists.message).toBe(NOT_APPLICABLE_MESSAGE);
    expect(lists.status.details?.causes).toEqual([{ message: "lists of lists are not supported", field: "metadata.finalizers" }]);
    const mixed = errorOf(() => smp(liveDeployment(), { metadata: { finalizers: [{ name: "x" }] } }));
    expect(mixed.code).toBe(422);
    expect(mixed.status.details?.causes?.[0]?.message).toContain("list element types are not identical");
  });
});
