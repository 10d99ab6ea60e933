// Book 2.3.1 and 11.2: the event recorder against a real `corekube apiserver`: Events as
// `kubectl describe` shows them, repeats counted on one Event, and a full queue that drops.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventRecorder } from "@corekube/client/events";
import { RestClient } from "@corekube/client/rest";
import { CONFIGMAPS, EVENTS, NAMESPACES, NODES } from "@corekube/client/resources";
import type { CoreEvent, KubeObject } from "@corekube/api";
import { startControlPlane, type ControlPlane } from "../support/apiserver-process.js";

const clientFor = (cp: ControlPlane): Promise<RestClient> => RestClient.fromKubeconfig({ path: cp.kubeconfig });

const NS = "events-test";

describe("EventRecorder against an API server", () => {
  let cp: ControlPlane;
  let client: RestClient;
  let seq = 0;

  beforeAll(async () => {
    cp = await startControlPlane();
    client = await clientFor(cp);
    await client.resource(NAMESPACES).create({ metadata: { name: NS } });
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await cp?.stop();
  });

  const events = () => client.resource<KubeObject>(EVENTS);

  /** A real ConfigMap to hang Events on. */
  async function subject(): Promise<KubeObject> {
    return client.resource(CONFIGMAPS).create({ metadata: { name: `cm-${++seq}`, namespace: NS }, data: { a: "1" } } as KubeObject);
  }

  async function eventsAbout(obj: KubeObject, namespace = NS): Promise<CoreEvent[]> {
    const list = await events().list({ namespace });
    return (list.items as unknown as CoreEvent[]).filter((e) => e.involvedObject.uid === obj.metadata.uid);
  }

  it("writes an Event with the fields kubectl shows", async () => {
    const cm = await subject();
    const rec = new EventRecorder({ client, component: "test-controller", host: "node-1" });
    rec.eventf(cm, "Warning", "FailedSync", "could not sync %s: %d errors", cm.metadata.name, 3);
    await rec.flush();

    const [ev, ...rest] = await eventsAbout(cm);
    expect(rest).toEqual([]);
    expect(ev.metadata.namespace).toBe(NS);
    expect(ev.metadata.name.startsWith(`${cm.metadata.name}.`)).toBe(true);
    expect(ev.involvedObject).toMatchObject({ kind: "ConfigMap", apiVersion: "v1", namespace: NS, name: cm.metadata.name, uid: cm.metadata.uid });
    expect(ev.type).toBe("Warning");
    expect(ev.reason).toBe("FailedSync");
    expect(ev.message).toBe(`could not sync ${cm.metadata.name}: 3 errors`);
    expect(ev.source).toEqual({ component: "test-controller", host: "node-1" });
    expect(ev.count).toBe(1);
    expect(ev.firstTimestamp).toBe(ev.lastTimestamp);
    expect(rec.dropped).toBe(0);
    expect(rec.failed).toBe(0);
  });

  it("two identical events become one Event with count 2 and a later lastTimestamp", async () => {
    const cm = await subject();
    let now = new Date("2030-01-01T00:00:00Z");
    const rec = new EventRecorder({ client, component: "test-controller", now: () => now });
    rec.eventf(cm, "Normal", "Synced", "synced");
    now = new Date("2030-01-01T00:01:00Z");
    rec.eventf(cm, "Normal", "Synced", "synced");
    rec.eventf(cm, "Normal", "Other", "something else");
    await rec.flush();

    const evs = await eventsAbout(cm);
    expect(evs).toHaveLength(2);
    const synced = evs.find((e) => e.reason === "Synced")!;
    expect(synced.count).toBe(2);
    expect(synced.firstTimestamp).toBe("2030-01-01T00:00:00Z");
    expect(synced.lastTimestamp).toBe("2030-01-01T00:01:00Z");
    expect(evs.find((e) => e.reason === "Other")!.count).toBe(1);
  });

  it("a repeat more than 10 minutes after the last one starts a new Event", async () => {
    const cm = await subject();
    let now = new Date("2030-01-01T00:00:00Z");
    const rec = new EventRecorder({ client, component: "test-controller", now: () => now });
    rec.eventf(cm, "Normal", "Synced", "synced");
    now = new Date("2030-01-01T00:11:00Z");
    rec.eventf(cm, "Normal", "Synced", "synced");
    await rec.flush();
    const evs = await eventsAbout(cm);
    expect(evs.map((e) => e.count)).toEqual([1, 1]);
  });

  it("when the counted Event was deleted, the repeat creates it again", async () => {
    const cm = await subject();
    const rec = new EventRecorder({ client, component: "test-controller" });
    rec.eventf(cm, "Warning", "BackOff", "backing off");
    await rec.flush();
    const [first] = await eventsAbout(cm);
    await events().delete(first.metadata.name, { namespace: NS });

    rec.eventf(cm, "Warning", "BackOff", "backing off");
    await rec.flush();
    const evs = await eventsAbout(cm);
    expect(evs).toHaveLength(1);
    expect(evs[0].reason).toBe("BackOff");
    expect(evs[0].count).toBe(2);
    expect(rec.failed).toBe(0);
  });

  it("Events about cluster-scoped objects go to the default namespace", async () => {
    const node = await client.resource(NODES).create({ metadata: { name: `node-${process.pid}` } });
    const rec = new EventRecorder({ client, component: "kubelet", host: node.metadata.name });
    rec.eventf(node, "Normal", "Starting", "Starting kubelet.");
    await rec.flush();
    const [ev] = await eventsAbout(node, "default");
    expect(ev.involvedObject).toMatchObject({ kind: "Node", name: node.metadata.name });
    expect(ev.metadata.namespace).toBe("default");
  });

  it("eventf never blocks or throws: past maxQueued it drops and counts", async () => {
    const cm = await subject();
    const rec = new EventRecorder({ client, component: "test-controller", maxQueued: 2 });
    const started = performance.now();
    for (let i = 0; i < 5; i++) rec.eventf(cm, "Normal", "Tick", `tick ${i}`);
    expect(performance.now() - started).toBeLessThan(50);
    expect(rec.dropped).toBe(3);
    await rec.flush();
    expect((await eventsAbout(cm)).map((e) => e.message).sort()).toEqual(["tick 0", "tick 1"]);
  });

  it("close() writes what is queued, then drops further events", async () => {
    const cm = await subject();
    const rec = new EventRecorder({ client, component: "test-controller" });
    rec.eventf(cm, "Normal", "Before", "before close");
    await rec.close();
    rec.eventf(cm, "Normal", "After", "after close");
    await rec.flush();
    expect(rec.dropped).toBe(1);
    expect((await eventsAbout(cm)).map((e) => e.reason)).toEqual(["Before"]);
  });

  it("a server that cannot be reached costs failed writes, not exceptions", async () => {
    const cm = await subject();
    const dead = await clientFor(cp);
    await dead.close();
    const rec = new EventRecorder({ client: dead, component: "test-controller", retryBaseMs: 1 });
    expect(() => rec.eventf(cm, "Normal", "Lost", "nobody hears this")).not.toThrow();
    await rec.flush();
    expect(rec.failed).toBe(1);
  });
});
