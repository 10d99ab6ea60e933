// Book 5.2, 10.3 and 11.2: the DNS server's view of the cluster: shared informers on Services,
// EndpointSlices (and Pods, when pod names are verified) whose changes rebuild the record index.
import type { KubeObject } from "@corekube/api";
import { ENDPOINT_SLICES, InformerFactory, PODS, type RestClient, SERVICES, type SharedInformer } from "@corekube/client";
import { type DnsEndpointSlice, type DnsService, type IndexInput, type IndexOptions, RecordIndex } from "./records.js";

export interface ClusterIndexOptions extends IndexOptions {
  /** Changes are gathered for this long before one rebuild, ms (default 20). */
  debounceMs?: number;
  log?: (msg: string) => void;
  onRebuild?: (index: RecordIndex) => void;
}

/**
 * Keeps a RecordIndex in step with the API: every add, update or delete marks it stale, and one
 * rebuild from the informers' caches follows within debounceMs, however many changes came in.
 */
export class ClusterIndex {
  private factory: InformerFactory;
  private services: SharedInformer<DnsService>;
  private slices: SharedInformer<DnsEndpointSlice>;
  private pods: SharedInformer<KubeObject> | undefined;
  private current: RecordIndex;
  private timer: NodeJS.Timeout | undefined;
  private synced = false;
  private stopped = false;
  private serial = Math.floor(Date.now() / 1000);

  constructor(
    client: RestClient,
    private readonly o: ClusterIndexOptions = {},
  ) {
    this.current = new RecordIndex({ services: [], endpointSlices: [] }, { ...o, serial: this.serial });
    this.factory = new InformerFactory(client);
    const onError = (err: unknown, phase: string) => o.log?.(`dns: ${phase}: ${(err as Error).message ?? err}`);
    this.services = this.factory.forResource<DnsService>(SERVICES, { onError });
    this.slices = this.factory.forResource<DnsEndpointSlice>(ENDPOINT_SLICES, { onError });
    if (o.pods === "verified") this.pods = this.factory.forResource(PODS, { onError });
    const stale = () => this.schedule();
    for (const inf of [this.services, this.slices, this.pods] as (SharedInformer<KubeObject> | undefined)[]) {
      inf?.addEventHandler({ onAdd: stale, onUpdate: stale, onDelete: stale });
    }
  }

  /** Start the informers and resolve once their caches are in and the first index is built. */
  async start(signal?: AbortSignal): Promise<boolean> {
    this.factory.start();
    const ok = await this.factory.waitForCacheSync(signal);
    if (!ok) return false;
    this.rebuild();
    this.synced = true;
    return true;
  }

  get index(): RecordIndex {
    return this.current;
  }

  get ready(): boolean {
    return this.synced && !this.stopped;
  }

  private schedule(): void {
    if (this.timer || this.stopped || !this.synced) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.rebuild();
    }, this.o.debounceMs ?? 20);
  }

  private rebuild(): void {
    // The serial only ever grows, even when rebuilds come faster than once a second.
    this.serial = Math.max(this.serial + 1, Math.floor(Date.now() / 1000));
    const input: IndexInput = {
      services: this.services.lister().list(),
      endpointSlices: this.slices.lister().list(),
      pods: this.pods?.lister().list() as IndexInput["pods"],
    };
    try {
      this.current = new RecordIndex(input, { ...this.o, serial: this.serial });
      this.o.onRebuild?.(this.current);
    } catch (e) {
      this.o.log?.(`dns: rebuilding the record index failed, keeping the last one: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.factory.stop();
  }
}
