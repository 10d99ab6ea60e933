// Book 2.3.1: Events as components write them — named after the object, counted when repeated.
import { describe, expect, it } from "vitest";
import { eventKey, newEvent, referenceTo, repeatEvent } from "./events.js";

const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "shop", uid: "u1", resourceVersion: "7" } };
const now = new Date("2026-01-02T03:04:05.678Z");

describe("events", () => {
  it("builds a core/v1 Event about an object", () => {
    const e = newEvent({ involved: referenceTo(pod), type: "Normal", reason: "Scheduled", message: "placed on n1", component: "default-scheduler", now });
    expect(e.metadata.namespace).toBe("shop");
    expect(e.metadata.name).toMatch(/^web\.[0-9a-f]{16}$/);
    expect(e.involvedObject).toMatchObject({ kind: "Pod", name: "web", uid: "u1" });
    expect(e.firstTimestamp).toBe("2026-01-02T03:04:05Z");
    expect(e.count).toBe(1);
  });

  it("puts events about cluster-scoped objects in default and cuts long messages", () => {
    const e = newEvent({ involved: referenceTo({ kind: "Node", metadata: { name: "n1" } }), type: "Warning", reason: "X", message: "m".repeat(2000), component: "kubelet", now });
    expect(e.metadata.namespace).toBe("default");
    expect(e.message.length).toBe(1024);
  });

  it("counts a repeated event under one key", () => {
    const a = newEvent({ involved: referenceTo(pod), type: "Warning", reason: "BackOff", message: "restarting", component: "kubelet", now });
    const b = newEvent({ involved: referenceTo(pod), type: "Warning", reason: "BackOff", message: "restarting", component: "kubelet", now });
    const c = newEvent({ involved: referenceTo(pod), type: "Warning", reason: "BackOff", message: "other", component: "kubelet", now });
    expect(eventKey(a)).toBe(eventKey(b));
    expect(eventKey(a)).not.toBe(eventKey(c));
    const again = repeatEvent(a, new Date("2026-01-02T03:05:00Z"));
    expect(again.count).toBe(2);
    expect(again.lastTimestamp).toBe("2026-01-02T03:05:00Z");
    expect(again.firstTimestamp).toBe(a.firstTimestamp);
  });
});
