// Book 11.2.3: the DefaultBinder plugin: the scheduler's decision becomes real when it POSTs a
// Binding to pods/<name>/binding; the API server then sets spec.nodeName, and the kubelet takes over.
import type { Pod } from "@corekube/api";
import { PODS, type RestClient } from "@corekube/client";
import type { BindPlugin, CycleState, MaybeStatus } from "../framework/types.js";
import { errorStatus } from "../framework/types.js";

export const DEFAULT_BINDER = "DefaultBinder";

export class DefaultBinder implements BindPlugin {
  readonly name = DEFAULT_BINDER;
  constructor(private readonly client: RestClient) {}

  async bind(_state: CycleState, pod: Pod, nodeName: string): Promise<MaybeStatus> {
    const binding = {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
      target: { apiVersion: "v1", kind: "Node", name: nodeName },
    };
    try {
      await this.client.resource<Pod>(PODS).createSubresource(pod.metadata.name!, "binding", binding, { namespace: pod.metadata.namespace });
      return null;
    } catch (e) {
      return errorStatus(e);
    }
  }
}
