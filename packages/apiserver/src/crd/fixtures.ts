// Book 11.2: sample CRDs for the tests — a "Widget" with replicas, a selector and the scale
// subresource, in the style of the CronTab from the Kubernetes docs. Test data only.
import type { RequestContext } from "../registry/types.js";
import type { CustomResourceDefinition } from "./types.js";

/** A namespaced Widget kind, served at v1 (stored) and a deprecated v1beta1. Fresh on each call. */
export function widgetCRD(): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.corekube.io" },
    spec: {
      group: "example.corekube.io",
      names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList", shortNames: ["wd"], categories: ["all"] },
      scope: "Namespaced",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: "A Widget runs some replicas of an image.",
              properties: {
                spec: {
                  type: "object",
                  required: ["image"],
                  properties: {
                    image: { type: "string", minLength: 1, description: "The image to run." },
                    replicas: { type: "integer", minimum: 0, maximum: 100, default: 1 },
                    port: { "x-kubernetes-int-or-string": true },
                    color: { type: "string", enum: ["red", "green", "blue"], default: "blue" },
                    schedule: { type: "string", pattern: "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$" },
                    startAt: { type: "string", format: "date-time" },
                    note: { type: "string", nullable: true },
                    selector: {
                      type: "object",
                      properties: { matchLabels: { type: "object", additionalProperties: { type: "string" } } },
                    },
                    config: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                    template: { type: "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true },
                    ports: {
                      type: "array",
                      items: {
                        type: "object",
                        properties: { name: { type: "string" }, port: { type: "integer", default: 80 } },
                      },
                    },
                  },
                },
                status: {
                  type: "object",
                  properties: {
                    replicas: { type: "integer" },
                    selector: { type: "string" },
                    conditions: {
                      type: "array",
                      items: { type: "object", properties: { type: { type: "string" }, status: { type: "string" } } },
                    },
                  },
                },
              },
            },
          },
          subresources: {
            status: {},
            scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" },
          },
          additionalPrinterColumns: [
            { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
            { name: "Color", type: "string", jsonPath: ".spec.color", priority: 1, description: "The widget's color." },
            { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          selectableFields: [{ jsonPath: ".spec.color" }],
        },
        {
          name: "v1beta1",
          served: true,
          storage: false,
          deprecated: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: { spec: { type: "object", properties: { image: { type: "string" }, size: { type: "integer" } } } },
            },
          },
        },
        {
          name: "v1alpha1",
          served: false,
          storage: false,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        },
      ],
    },
  };
}

/** The CronTab CRD of the Kubernetes documentation, cluster-scoped here for variety. */
export function cronTabCRD(): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "crontabs.stable.example.com" },
    spec: {
      group: "stable.example.com",
      names: { plural: "crontabs", kind: "CronTab", shortNames: ["ct"] },
      scope: "Cluster",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  properties: { cronSpec: { type: "string" }, image: { type: "string" }, replicas: { type: "integer" } },
                },
              },
            },
          },
        },
      ],
    },
  };
}

export function testContext(now = new Date("2024-05-01T12:00:00Z")): RequestContext {
  return { user: { username: "admin", groups: ["system:masters"] }, namespace: "", now, dryRun: false, warnings: [] };
}
