// Types of js-glue/adapters/rest.js (seed 000's per-resource REST backend); docs/ADAPTERS.md.
import type { Transport } from '../syncore.js';

export interface RestTransportOptions {
  /** The resource, e.g. `https://api.example/api/feedings`. */
  url: string;
  /** The one syncore collection this resource holds. */
  collection: string;
  /** The backend's name for syncore's `id`; default `client_id`. */
  idField?: string;
  /** The time the backend stamps on every write (the version); default `updated_at`. */
  timeField?: string;
  /** Set on a soft-deleted row; default `deleted_at`. */
  deletedField?: string;
  /** Backend-only columns kept out of the app's record; default `['id', 'created_at']`. */
  serverFields?: string[];
  /** Overlap of the `since` window in ms; default 10000. */
  overlapMs?: number;
  /** Path under `url` called once before the first pull from an empty cursor; default `backfill-client-ids`. */
  backfill?: string | false;
  token?: string | (() => Promise<string> | string);
  timeoutMs?: number;
  fetch?: typeof fetch;
}
export function createRestTransport(options: RestTransportOptions): Transport;
