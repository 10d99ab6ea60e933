// Book 8.3: ConfigMaps and Secrets as users meet them — key rules, base64 data, stringData folded
// into data, typed secrets, the immutable lock, and their `kubectl get` rows.
import { fieldErrorMessage } from "@corekube/api";
import { describe, expect, it } from "vitest";
import type { KubeObject, RequestContext } from "../registry/types.js";
import { base64Error, configMaps, secrets, serviceAccounts } from "./core-config.js";

const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: "default", now: new Date("2024-05-01T12:00:00Z"), dryRun: false, warnings: [] };
const meta = { name: "cfg", namespace: "default", creationTimestamp: "2024-05-01T11:59:00Z" };

describe("ConfigMap", () => {
  it("checks keys and overlaps between data and binaryData", () => {
    const cm: KubeObject = { metadata: meta, data: { "app.conf": "x", "bad/key": "y", "..x": "z" }, binaryData: { "app.conf": "AAE=" } };
    const errs = configMaps.strategy.validate!(cm, ctx).map(fieldErrorMessage);
    expect(errs.some((e) => e.startsWith('data[bad/key]: Invalid value: "bad/key": a valid config key must consist of alphanumeric characters'))).toBe(true);
    expect(errs).toContain('data[..x]: Invalid value: "..x": must not start with \'..\'');
    expect(errs).toContain('data[app.conf]: Invalid value: "app.conf": duplicate of key present in binaryData');
  });

  it("locks data once immutable", () => {
    const old: KubeObject = { metadata: meta, immutable: true, data: { a: "1" } };
    const next: KubeObject = { metadata: meta, immutable: false, data: { a: "2" } };
    expect(configMaps.strategy.validateUpdate!(next, old, ctx).map(fieldErrorMessage)).toEqual([
      "immutable: Forbidden: field is immutable when `immutable` is set",
      "data: Forbidden: field is immutable when `immutable` is set",
    ]);
  });

  it("counts data and binaryData keys", () => {
    expect(configMaps.table!.cells({ metadata: meta, data: { a: "1" }, binaryData: { b: "AA==" } }, ctx.now)).toEqual(["cfg", 2, "60s"]);
  });
});

describe("Secret", () => {
  it("defaults the type and folds stringData into base64 data", () => {
    const sec: KubeObject = { metadata: meta, data: { a: "YQ==" }, stringData: { password: "s3cret" } };
    secrets.strategy.defaults!(sec);
    expect(sec).toEqual({ metadata: meta, type: "Opaque", data: { a: "YQ==", password: "czNjcmV0" } });
    expect(secrets.strategy.validate!(sec, ctx)).toEqual([]);
  });

  it("needs data values to be base64", () => {
    expect(base64Error("czNjcmV0")).toBe(-1);
    expect(base64Error("not base64!")).toBe(3);
    const sec: KubeObject = { metadata: meta, type: "Opaque", data: { a: "abc" } };
    expect(secrets.strategy.validate!(sec, ctx).map(fieldErrorMessage)).toEqual(['data[a]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 0']);
  });

  it("checks the keys typed secrets need", () => {
    const tls: KubeObject = { metadata: meta, type: "kubernetes.io/tls", data: { "tls.crt": "Y2VydA==" } };
    expect(secrets.strategy.validate!(tls, ctx).map(fieldErrorMessage)).toEqual(["data[tls.key]: Required value"]);
    const sa: KubeObject = { metadata: meta, type: "kubernetes.io/service-account-token" };
    expect(secrets.strategy.validate!(sa, ctx).map(fieldErrorMessage)).toEqual(["metadata.annotations[kubernetes.io/service-account.name]: Required value"]);
  });

  it("keeps its type, shows TYPE and DATA, and is selectable by type", () => {
    const old: KubeObject = { metadata: meta, type: "Opaque", data: { a: "YQ==" } };
    const next: KubeObject = { ...old, type: "kubernetes.io/tls" };
    expect(secrets.strategy.validateUpdate!(next, old, ctx).map(fieldErrorMessage)).toEqual(['type: Invalid value: "kubernetes.io/tls": field is immutable']);
    expect(secrets.table!.cells(old, ctx.now)).toEqual(["cfg", "Opaque", 1, "60s"]);
    expect(secrets.fields!(old)).toEqual({ type: "Opaque" });
  });
});

describe("ServiceAccount", () => {
  it("shows how many secrets it lists", () => {
    const sa: KubeObject = { metadata: { ...meta, name: "default" }, secrets: [{ name: "tok" }] };
    expect(serviceAccounts.strategy.validate!(sa, ctx)).toEqual([]);
    expect(serviceAccounts.table!.cells(sa, ctx.now)).toEqual(["default", 1, "60s"]);
  });
});
