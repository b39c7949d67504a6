// index.d.ts — declarations of `syncore/ui` (docs/UI.md). Must match index.js, status.js, conflicts.js.
import type { Store, SyncRecord } from '../syncore.js';

/** What the app calls its data: { flocks: { name: 'Flock', fields: { hens: 'Hens' }, hidden: ['updated'] } }. */
export type Labels = Record<string, { name?: string; fields?: Record<string, string>; hidden?: string[] }>;

declare class SyncoreElement extends HTMLElement {
  store: Store | null;
  labels: Labels;
  /** A record's title in headings ("Barn A"); null or undefined: the default (name, title, or collection + id). */
  recordTitle: ((collection: string, record: SyncRecord) => string | null | undefined) | null;
  /** A field's value as text; undefined: the default (times in the viewer's zone, — for empty). */
  formatValue: ((collection: string, field: string, value: unknown) => string | undefined) | null;
}

/** <syncore-status>: online/offline, syncing, pending and failed counts, last sync, Sync now, progress, failed ops. */
export class SyncoreStatusElement extends SyncoreElement {
  syncNow(): Promise<import('../syncore.js').SyncResult | null>;
}

/** <syncore-conflicts>: a badge with the unresolved count and the dialog that resolves them. */
export class SyncoreConflictsElement extends SyncoreElement {
  readonly count: number;
  open(index?: number): void;
  close(): void;
  refresh(): Promise<void>;
  /** The versions of one record that lost a silent last-write-wins, newest first, each restorable. */
  showArchive(collection: string, recordId: string): Promise<void>;
}

declare global {
  interface HTMLElementTagNameMap {
    'syncore-status': SyncoreStatusElement;
    'syncore-conflicts': SyncoreConflictsElement;
  }
}
