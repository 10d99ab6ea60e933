// Book 7.3: test doubles for the volume manager: an in-memory ConfigMap/Secret/token API and a mounter
// that records tmpfs mounts instead of making them (so unit tests run without root).
import type { VolumeApi } from "./api.js";
import type { MountInfo, Mounter } from "./mounter.js";
import type { ConfigMap, Secret, TokenRequestSpec, TokenRequestStatus } from "./types.js";

/** ConfigMaps and Secrets kept in maps keyed "namespace/name"; tokens from `issueToken` (default: unsupported). */
export class FakeVolumeApi implements VolumeApi {
  readonly configMaps = new Map<string, ConfigMap>();
  readonly secrets = new Map<string, Secret>();
  readonly tokenRequests: Array<{ namespace: string; serviceAccount: string; spec: TokenRequestSpec }> = [];
  /** Return undefined for "the server has no token subresource"; throw for other failures. */
  issueToken?: (namespace: string, serviceAccount: string, spec: TokenRequestSpec) => TokenRequestStatus | undefined;
  /** Makes every read fail with this error (a server that cannot be reached). */
  failWith?: Error;

  setConfigMap(namespace: string, name: string, data: Record<string, string>, binaryData?: Record<string, string>): void {
    this.configMaps.set(`${namespace}/${name}`, { metadata: { name, namespace }, data, ...(binaryData ? { binaryData } : {}) });
  }

  /** `data` in plain text; stored base64-encoded as the API returns it. */
  setSecret(namespace: string, name: string, data: Record<string, string>): void {
    const enc = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
    this.secrets.set(`${namespace}/${name}`, { metadata: { name, namespace }, data: enc });
  }

  async getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined> {
    if (this.failWith) throw this.failWith;
    return structuredClone(this.configMaps.get(`${namespace}/${name}`));
  }

  async getSecret(namespace: string, name: string): Promise<Secret | undefined> {
    if (this.failWith) throw this.failWith;
    return structuredClone(this.secrets.get(`${namespace}/${name}`));
  }

  async requestToken(namespace: string, serviceAccount: string, spec: TokenRequestSpec): Promise<TokenRequestStatus | undefined> {
    if (this.failWith) throw this.failWith;
    this.tokenRequests.push({ namespace, serviceAccount, spec });
    return this.issueToken?.(namespace, serviceAccount, spec);
  }
}

/** Records tmpfs mounts (by resolved path) and reports them as mounted; makes no real mounts. */
export class FakeMounter implements Mounter {
  readonly mounted: MountInfo[] = [];
  readonly calls: string[] = [];

  async list(): Promise<MountInfo[]> {
    return [...this.mounted];
  }

  async mountTmpfs(dir: string, sizeBytes?: bigint): Promise<void> {
    this.calls.push(`mount ${dir} ${sizeBytes ?? ""}`.trim());
    this.mounted.push({ mountPoint: dir, fsType: "tmpfs", source: "tmpfs", superOptions: sizeBytes ? `rw,size=${sizeBytes}` : "rw" });
  }

  async unmount(dir: string): Promise<void> {
    this.calls.push(`umount ${dir}`);
    const i = this.mounted.map((m) => m.mountPoint).lastIndexOf(dir);
    if (i < 0) throw new Error(`umount: ${dir}: not mounted`);
    this.mounted.splice(i, 1);
  }
}
