// Book 11.2: the admission chain's reservations are undone once, however often a write path asks.
import { describe, expect, it } from "vitest";
import { AdmissionChain, type AdmissionPlugin } from "./admission.js";
import type { RequestContext, ResourceDef } from "./types.js";

const def = { group: "", version: "v1", resource: "services", kind: "Service", namespaced: true } as ResourceDef;
const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: "ns", now: new Date(), dryRun: false, warnings: [] };

function reserving(log: string[]): AdmissionPlugin {
  return {
    name: "Reserve",
    mutate: () => {
      log.push("claim");
      return async () => {
        log.push("release");
      };
    },
  };
}

describe("AdmissionChain", () => {
  it("a rollback releases each reservation once, even when called again", async () => {
    const log: string[] = [];
    const chain = new AdmissionChain([reserving(log)]);
    const rollback = await chain.admit({ operation: "CREATE", def, subresource: "", namespace: "ns", name: "s", obj: { metadata: {} }, ctx });
    await rollback();
    await rollback();
    expect(log).toEqual(["claim", "release"]);
  });

  it("a refusing validator undoes what mutators reserved and passes its error on", async () => {
    const log: string[] = [];
    const chain = new AdmissionChain([
      reserving(log),
      {
        name: "No",
        validate: () => {
          throw new Error("refused");
        },
      },
    ]);
    await expect(chain.admit({ operation: "CREATE", def, subresource: "", namespace: "ns", name: "s", obj: { metadata: {} }, ctx })).rejects.toThrow("refused");
    expect(log).toEqual(["claim", "release"]);
  });
});
