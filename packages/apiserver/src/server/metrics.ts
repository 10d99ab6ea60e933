// Book 11.2: the API server's own metrics at /metrics — requests by verb, resource and code, their
// latency, and open watches — under kube-apiserver's metric names so dashboards read the same.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ResourceDef } from "../registry/types.js";
import type { RequestInfo } from "./request-info.js";

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"verb" | "group" | "version" | "resource" | "subresource" | "code">;
  private readonly latency: Histogram<"verb" | "resource">;
  private readonly watches: Gauge<"group" | "resource">;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: "apiserver_request_total",
      help: "Requests served, by verb, resource and HTTP status code.",
      labelNames: ["verb", "group", "version", "resource", "subresource", "code"],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: "apiserver_request_duration_seconds",
      help: "Time to answer a request (watches excluded), by verb and resource.",
      labelNames: ["verb", "resource"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.watches = new Gauge({
      name: "apiserver_longrunning_requests",
      help: "Open watch streams, by resource.",
      labelNames: ["group", "resource"],
      registers: [this.registry],
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  request(info: RequestInfo | undefined, method: string, code: number, elapsedMs?: number): void {
    const verb = info?.resourceRequest ? info.verb.toUpperCase() : method;
    const labels = {
      verb,
      group: info?.group ?? "",
      version: info?.version ?? "",
      resource: info?.resource ?? "",
      subresource: info?.subresource ?? "",
      code: String(code),
    };
    this.requests.inc(labels);
    if (elapsedMs !== undefined && verb !== "WATCH") this.latency.observe({ verb, resource: labels.resource }, elapsedMs / 1000);
  }

  watchStarted(def: ResourceDef): void {
    this.watches.inc({ group: def.group, resource: def.resource });
  }

  watchEnded(def: ResourceDef): void {
    this.watches.dec({ group: def.group, resource: def.resource });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
