// Book 7.3 and 8.3: what the volume manager asks the API server for: ConfigMaps, Secrets and bound
// service account tokens (the serviceaccounts/token subresource), behind a small interface tests fake.
import { codeOf, isNotFound } from "@corekube/api";
import { CONFIGMAPS, type RestClient, SECRETS, SERVICE_ACCOUNTS } from "@corekube/client";
import type { ConfigMap, Secret, TokenRequestSpec, TokenRequestStatus } from "./types.js";

export interface VolumeApi {
  /** The ConfigMap, or undefined when it does not exist. Other failures throw. */
  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  /** The Secret, or undefined when it does not exist. Other failures throw. */
  getSecret(namespace: string, name: string): Promise<Secret | undefined>;
  /**
   * A token for the service account, bound to the pod in `spec.boundObjectRef`; undefined when the API
   * server does not offer the token subresource (it answered 404 or 405). Other failures throw.
   */
  requestToken(namespace: string, serviceAccount: string, spec: TokenRequestSpec): Promise<TokenRequestStatus | undefined>;
}

/** The VolumeApi of a corekube RestClient. */
export function restVolumeApi(client: RestClient): VolumeApi {
  const configMaps = client.resource<ConfigMap>(CONFIGMAPS);
  const secrets = client.resource<Secret>(SECRETS);
  const serviceAccounts = client.resource(SERVICE_ACCOUNTS);
  const getOrUndefined = async <T>(p: Promise<T>): Promise<T | undefined> => {
    try {
      return await p;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  return {
    getConfigMap: (namespace, name) => getOrUndefined(configMaps.get(name, namespace)),
    getSecret: (namespace, name) => getOrUndefined(secrets.get(name, namespace)),
    async requestToken(namespace, serviceAccount, spec) {
      const body = { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", metadata: {}, spec };
      try {
        const tr = await serviceAccounts.createSubresource<{ status?: TokenRequestStatus }>(serviceAccount, "token", body, { namespace });
        if (!tr?.status?.token) throw new Error(`the API server's TokenRequest answer for serviceaccount ${namespace}/${serviceAccount} has no status.token`);
        return tr.status;
      } catch (e) {
        const code = codeOf(e);
        if (code === 404 || code === 405) return undefined;
        throw e;
      }
    },
  };
}
