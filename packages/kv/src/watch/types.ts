// Book 12.2: the watch stream's requests and responses (etcd's WatchRequest / WatchResponse).
import type { Bytes, ResponseHeader, WatchEvent } from "../types.js";

export interface WatchCreateRequest {
  key: Bytes;
  rangeEnd?: Bytes;
  /** <= 0 or absent: from the next revision (now), not from the beginning. */
  startRevision?: number;
  progressNotify?: boolean;
  filters?: ("NOPUT" | "NODELETE")[];
  prevKv?: boolean;
  /** 0 or absent: the stream picks the next free id. */
  watchId?: number;
  fragment?: boolean;
}

export interface WatchResponse {
  /** revision is the store's revision when the response was made (events: their revision). */
  header: ResponseHeader;
  /** -1 for a reply to a progress request on a stream with several watchers. */
  watchId: number;
  created?: boolean;
  canceled?: boolean;
  compactRevision?: number;
  cancelReason?: string;
  fragment?: boolean;
  events: WatchEvent[];
}

export interface WatchStream {
  create(req: WatchCreateRequest): void;
  cancel(watchId: number): void;
  /** Ask for a progress notification (sent only when every watcher on the stream is synced). */
  progress(): void;
  /** The socket can take more: resume sending, catching up from history if needed. */
  drained(): void;
  close(): void;
}
