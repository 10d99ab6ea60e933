// Book 2.2, 4.5 and 9.3: pods as a user sees them — defaults filled in, bad specs refused with
// Kubernetes' messages, what an update may change, and the STATUS column of `kubectl get pods`.
import { fieldErrorMessage, invalid } from "@corekube/api";
import { describe, expect, it } from "vitest";
import type { KubeObject, RequestContext } from "../registry/types.js";
import { pods } from "./core-pods.js";
import { defaultPullPolicy, imageTag } from "./pod-defaults.js";
import { summarizePod } from "./pod-table.js";
import { podQOSClass } from "./qos.js";

const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: "default", now: new Date("2024-05-01T12:00:00Z"), dryRun: false, warnings: [] };
const s = pods.strategy;

function pod(spec: Record<string, unknown>, extra: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "default", uid: "u1" }, spec, ...extra };
}

/** What the store does on create: defaults, prepare, validate. */
function create(p: KubeObject): string[] {
  s.defaults!(p);
  s.prepareForCreate!(p, ctx);
  return s.validate!(p, ctx).map(fieldErrorMessage);
}

describe("pod defaulting", () => {
  it("fills in what `kubectl get pod -o yaml` shows", () => {
    const p = pod({ containers: [{ name: "app", image: "nginx", ports: [{ containerPort: 80 }], readinessProbe: { httpGet: { port: 80 } } }] });
    expect(create(p)).toEqual([]);
    const spec = p.spec as Record<string, any>;
    expect(spec).toMatchObject({
      restartPolicy: "Always",
      dnsPolicy: "ClusterFirst",
      schedulerName: "default-scheduler",
      terminationGracePeriodSeconds: 30,
      securityContext: {},
      enableServiceLinks: true,
      serviceAccountName: "default",
      serviceAccount: "default",
    });
    expect(spec.containers[0]).toMatchObject({
      imagePullPolicy: "Always",
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "File",
      ports: [{ containerPort: 80, protocol: "TCP" }],
      readinessProbe: { httpGet: { port: 80, path: "/", scheme: "HTTP" }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
    });
    expect(p.status).toEqual({ phase: "Pending", qosClass: "BestEffort" });
  });

  it("chooses the pull policy from the tag", () => {
    expect(defaultPullPolicy("nginx")).toBe("Always");
    expect(defaultPullPolicy("nginx:latest")).toBe("Always");
    expect(defaultPullPolicy("nginx:1.27")).toBe("IfNotPresent");
    expect(defaultPullPolicy("localhost:5000/app")).toBe("Always");
    expect(defaultPullPolicy("app@sha256:abcd")).toBe("IfNotPresent");
    expect(imageTag("registry.k8s.io/pause:3.10")).toBe("3.10");
  });

  it("defaults requests from limits and derives the QoS class", () => {
    const p = pod({ containers: [{ name: "app", image: "nginx:1", resources: { limits: { cpu: "500m", memory: "128Mi" } } }] });
    expect(create(p)).toEqual([]);
    expect((p.spec as any).containers[0].resources.requests).toEqual({ cpu: "500m", memory: "128Mi" });
    expect((p.status as any).qosClass).toBe("Guaranteed");
  });

  it("keeps an explicit service account and empty volumes become emptyDir", () => {
    const p = pod({ serviceAccountName: "builder", volumes: [{ name: "scratch" }], containers: [{ name: "a", image: "x:1" }] });
    create(p);
    expect((p.spec as any).serviceAccountName).toBe("builder");
    expect((p.spec as any).volumes[0]).toEqual({ name: "scratch", emptyDir: {} });
  });
});

describe("QoS classes", () => {
  const withResources = (resources: object) => pod({ containers: [{ name: "a", image: "x", resources }] });
  it("Burstable when requests differ from limits, BestEffort with none", () => {
    expect(podQOSClass(withResources({ requests: { cpu: "100m" } }))).toBe("Burstable");
    expect(podQOSClass(withResources({ requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "2", memory: "1Gi" } }))).toBe("Burstable");
    expect(podQOSClass(withResources({ requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1000m", memory: "1024Mi" } }))).toBe("Guaranteed");
    expect(podQOSClass(withResources({}))).toBe("BestEffort");
  });
});

describe("pod validation", () => {
  it("refuses a container without an image, as kubectl reports it", () => {
    const p = pod({ containers: [{ name: "app" }] });
    const errs = create(p);
    expect(errs).toEqual(["spec.containers[0].image: Required value"]);
    const status = invalid("Pod", "web", s.validate!(p, ctx)).status;
    expect(status.message).toBe('Pod "web" is invalid: spec.containers[0].image: Required value');
  });

  it("needs at least one container", () => {
    expect(create(pod({}))).toEqual(["spec.containers: Required value"]);
  });

  it("refuses bad and duplicate container names", () => {
    const errs = create(pod({ containers: [{ name: "App", image: "x" }, { name: "b", image: "x" }], initContainers: [{ name: "b", image: "x" }] }));
    expect(errs[0]).toMatch(/^spec\.containers\[0\]\.name: Invalid value: "App": a lowercase RFC 1123 label/);
    expect(errs).toContain('spec.containers[1].name: Duplicate value: "b"');
  });

  it("checks ports, protocols and probes", () => {
    const errs = create(
      pod({
        containers: [
          {
            name: "a",
            image: "x",
            ports: [{ containerPort: 70000, protocol: "HTTP" }, { name: "http", containerPort: 80 }, { name: "http", containerPort: 81 }],
            livenessProbe: { exec: { command: ["true"] }, successThreshold: 2 },
            readinessProbe: {},
          },
        ],
      }),
    );
    expect(errs).toContain("spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive");
    expect(errs).toContain('spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"');
    expect(errs).toContain('spec.containers[0].ports[2].name: Duplicate value: "http"');
    expect(errs).toContain("spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1");
    expect(errs).toContain("spec.containers[0].readinessProbe: Required value: must specify a handler type");
  });

  it("requires mounts to name a volume and requests to stay under limits", () => {
    const errs = create(
      pod({
        containers: [{ name: "a", image: "x", volumeMounts: [{ name: "data", mountPath: "/data" }], resources: { requests: { cpu: "2" }, limits: { cpu: "1" } } }],
      }),
    );
    expect(errs).toContain('spec.containers[0].volumeMounts[0].name: Not found: "data"');
    expect(errs).toContain('spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1');
  });

  it("checks restart policy and tolerations", () => {
    const errs = create(
      pod({
        restartPolicy: "Sometimes",
        containers: [{ name: "a", image: "x" }],
        tolerations: [{ key: "k", operator: "Exists", value: "v" }, { operator: "Equal", value: "x" }, { key: "k", effect: "NoSchedule", tolerationSeconds: 5 }],
      }),
    );
    expect(errs).toContain('spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"');
    expect(errs.some((e) => e.startsWith("spec.tolerations[0].operator: Invalid value") && e.endsWith("value must be empty when `operator` is 'Exists'"))).toBe(true);
    expect(errs).toContain('spec.tolerations[1].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"');
    expect(errs).toContain("spec.tolerations[2].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set");
  });

  it("refuses ephemeral containers on create", () => {
    const errs = create(pod({ containers: [{ name: "a", image: "x" }], ephemeralContainers: [{ name: "debug", image: "busybox" }] }));
    expect(errs).toEqual(["spec.ephemeralContainers: Forbidden: cannot be set on create"]);
  });
});

describe("pod updates", () => {
  const base = () => {
    const p = pod({ containers: [{ name: "a", image: "nginx:1" }], activeDeadlineSeconds: 100, tolerations: [{ key: "k", operator: "Exists" }] });
    create(p);
    return p;
  };
  const update = (change: (spec: any) => void) => {
    const old = base();
    const next = structuredClone(old);
    change(next.spec);
    s.defaults!(next);
    return s.validateUpdate!(next, old, ctx).map(fieldErrorMessage);
  };

  it("may change images, shorten the deadline and add tolerations", () => {
    expect(
      update((spec) => {
        spec.containers[0].image = "nginx:2";
        spec.activeDeadlineSeconds = 50;
        spec.tolerations.push({ key: "other", operator: "Exists" });
      }),
    ).toEqual([]);
  });

  it("may not change anything else", () => {
    const errs = update((spec) => {
      spec.containers[0].ports = [{ containerPort: 80 }];
    });
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^spec: Forbidden: pod updates may not change fields other than `spec\.containers\[\*\]\.image`/);
    expect(errs[0]).toContain("spec.containers[0].ports");
  });

  it("may not lengthen the deadline or drop a toleration", () => {
    expect(update((spec) => (spec.activeDeadlineSeconds = 200))).toContain("spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value");
    expect(update((spec) => (spec.tolerations = []))).toContain("spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds");
  });
});

describe("pod status writes", () => {
  it("fills podIP from podIPs and podIPs from podIP", () => {
    const p = pod({ containers: [{ name: "a", image: "x" }] }, { status: { phase: "Running", podIP: "10.1.0.7", hostIPs: [{ ip: "192.168.1.2" }] } });
    s.prepareForStatusUpdate!(p, p, ctx);
    expect(p.status).toEqual({ phase: "Running", podIP: "10.1.0.7", podIPs: [{ ip: "10.1.0.7" }], hostIP: "192.168.1.2", hostIPs: [{ ip: "192.168.1.2" }] });
    expect(s.validateStatusUpdate!(p, p, ctx)).toEqual([]);
  });

  it("refuses an unknown phase and a restarted container of a never-restarting pod", () => {
    const old = pod({ restartPolicy: "Never", containers: [{ name: "a", image: "x" }] }, { status: { containerStatuses: [{ name: "a", state: { terminated: { exitCode: 0 } } }] } });
    const next = { ...old, status: { phase: "Done", containerStatuses: [{ name: "a", state: { running: {} } }] } };
    expect(s.validateStatusUpdate!(next, old, ctx).map(fieldErrorMessage)).toEqual([
      'status.phase: Unsupported value: "Done": supported values: "Pending", "Running", "Succeeded", "Failed", "Unknown"',
      "status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state",
    ]);
  });
});

describe("graceful deletion and fields", () => {
  it("uses the pod's grace period, 30 by default", () => {
    expect(s.defaultGracePeriodSeconds!(pod({ terminationGracePeriodSeconds: 5 }))).toBe(5);
    expect(s.defaultGracePeriodSeconds!(pod({}))).toBe(30);
  });

  it("exposes the field selectors kubelets and schedulers use", () => {
    const p = pod({ nodeName: "node-1", containers: [] }, { status: { phase: "Running", podIPs: [{ ip: "10.0.0.5" }] } });
    create(p);
    p.status = { phase: "Running", podIPs: [{ ip: "10.0.0.5" }] };
    expect(pods.fields!(p)).toEqual({
      "spec.nodeName": "node-1",
      "spec.restartPolicy": "Always",
      "spec.schedulerName": "default-scheduler",
      "spec.serviceAccountName": "default",
      "spec.hostNetwork": "false",
      "status.phase": "Running",
      "status.podIP": "10.0.0.5",
      "status.nominatedNodeName": "",
    });
  });
});

describe("pod table", () => {
  const now = new Date("2024-05-01T12:00:00Z");
  const p = (status: object, spec: object = { containers: [{ name: "a" }, { name: "b" }] }, meta: object = {}) =>
    ({ metadata: { name: "web", creationTimestamp: "2024-05-01T11:00:00Z", ...meta }, spec, status }) as KubeObject;
  const running = { ready: true, state: { running: {} }, restartCount: 0 };

  it("has kubectl's columns, wide ones at priority 1", () => {
    expect(pods.table!.columns.map((c) => [c.name, c.priority])).toEqual([
      ["Name", 0],
      ["Ready", 0],
      ["Status", 0],
      ["Restarts", 0],
      ["Age", 0],
      ["IP", 1],
      ["Node", 1],
      ["Nominated Node", 1],
      ["Readiness Gates", 1],
    ]);
    expect(pods.table!.columns[0]!.format).toBe("name");
  });

  it("shows a running pod", () => {
    const row = pods.table!.cells(
      p({ phase: "Running", podIPs: [{ ip: "10.1.0.4" }], containerStatuses: [running, { ...running, ready: false }] }, { nodeName: "n1", containers: [{ name: "a" }, { name: "b" }] }),
      now,
    );
    expect(row).toEqual(["web", "1/2", "Running", "0", "60m", "10.1.0.4", "n1", "<none>", "<none>"]);
  });

  it("shows waiting and terminated container reasons", () => {
    expect(summarizePod(p({ phase: "Pending", containerStatuses: [{ state: { waiting: { reason: "ContainerCreating" } } }] })).status).toBe("ContainerCreating");
    expect(summarizePod(p({ phase: "Running", containerStatuses: [{ state: { waiting: { reason: "CrashLoopBackOff" } }, restartCount: 4 }] })).status).toBe("CrashLoopBackOff");
    expect(summarizePod(p({ phase: "Succeeded", containerStatuses: [{ state: { terminated: { reason: "Completed", exitCode: 0 } } }] })).status).toBe("Completed");
    expect(summarizePod(p({ phase: "Failed", containerStatuses: [{ state: { terminated: { exitCode: 137, signal: 0 } } }] })).status).toBe("ExitCode:137");
    expect(summarizePod(p({ phase: "Pending", reason: "", conditions: [{ type: "PodScheduled", status: "False", reason: "SchedulingGated" }] })).status).toBe("SchedulingGated");
  });

  it("shows init progress", () => {
    const spec = { initContainers: [{ name: "i1" }, { name: "i2" }], containers: [{ name: "a" }] };
    const done = { state: { terminated: { exitCode: 0, reason: "Completed" } } };
    expect(summarizePod(p({ phase: "Pending", initContainerStatuses: [done, { state: { running: {} } }] }, spec)).status).toBe("Init:1/2");
    expect(summarizePod(p({ phase: "Pending", initContainerStatuses: [{ state: { waiting: { reason: "ImagePullBackOff" } } }] }, spec)).status).toBe("Init:ImagePullBackOff");
    expect(summarizePod(p({ phase: "Pending", initContainerStatuses: [{ state: { terminated: { exitCode: 2 } } }] }, spec)).status).toBe("Init:ExitCode:2");
  });

  it("says Terminating once deletion started, and Running beside a finished sidecar-less container", () => {
    expect(summarizePod(p({ phase: "Running", containerStatuses: [running, running] }, undefined, { deletionTimestamp: "2024-05-01T12:00:30Z" })).status).toBe("Terminating");
    const mixed = p({ phase: "Running", conditions: [{ type: "Ready", status: "True" }], containerStatuses: [running, { state: { terminated: { reason: "Completed", exitCode: 0 } } }] });
    expect(summarizePod(mixed).status).toBe("Running");
  });

  it("shows restarts with the age of the last one", () => {
    const row = pods.table!.cells(
      p({
        phase: "Running",
        containerStatuses: [{ ...running, restartCount: 3, lastState: { terminated: { finishedAt: "2024-05-01T11:55:00Z", exitCode: 1 } } }, running],
      }),
      now,
    );
    expect(row[3]).toBe("3 (5m ago)");
  });
});
