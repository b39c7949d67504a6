// Types of js-glue/adapters/delta.js (seed 001's delta endpoint); docs/ADAPTERS.md.
import type { Transport } from '../syncore.js';

export interface DeltaTransportOptions {
  /** `…/api/v1/sync/delta`. */
  url: string;
  /** syncore collection → the blob's path (`{ feedPurchases: 'feed.purchases' }`); `true` = the same name. */
  collections: Record<string, string | true>;
  /** Overlap of the `since` window in ms; default 30000. */
  overlapMs?: number;
  token?: string | (() => Promise<string> | string);
  timeoutMs?: number;
  fetch?: typeof fetch;
}
export function createDeltaTransport(options: DeltaTransportOptions): Transport;
