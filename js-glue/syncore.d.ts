// syncore.d.ts — TypeScript declarations of the public API (SPEC §2). Must match syncore.js.

export type ErrorCode =
  | 'SC_BAD_INPUT' | 'SC_UNKNOWN_COLLECTION' | 'SC_READ_ONLY' | 'SC_NOT_FOUND'
  | 'SC_STORAGE' | 'SC_CLOSED' | 'SC_NO_MEMORY' | 'SC_PROTOCOL' | 'SC_INTERNAL';

export class SyncoreError extends Error {
  constructor(message: string, code: ErrorCode, options?: { cause?: unknown });
  code: ErrorCode;
}

export type Strategy = 'lww' | 'merge-fields' | 'ask' | 'server-wins' | 'client-wins' | 'max' | 'append-only';

export interface CollectionConfig {
  strategy?: Strategy;
  fieldStrategy?: 'lww' | 'ask';
  maxFields?: string[];
  onDelete?: 'ask' | 'delete-wins' | 'edit-wins' | 'latest';
  idFrom?: 'client' | 'server';
  refs?: Record<string, string>;
  timeFields?: string[];
  indexes?: string[];
  readOnly?: boolean;
}

export interface TransportError extends Error { status: number; retryAfter: number; }

export interface Transport {
  /** Resolve with the 200 body: the parsed object, or its JSON text as received. */
  push(body: { device_id: string; ops: unknown[] }): Promise<object | string>;
  pull(req: { cursor: string; limit: number }): Promise<object | string>;
  events?(onPoke: () => void): () => void;
}

export interface StoreOptions {
  name: string;
  storage?: 'auto' | 'idb' | 'opfs' | 'memory';
  /** Bytes of the store kept in memory where pages are read on demand (IndexedDB with JSPI); default 256 MiB. */
  cacheSize?: number;
  remote?: { url: string; token?: () => Promise<string> | string; transport?: Transport };
  collections: Record<string, CollectionConfig>;
  sync?: { auto?: boolean; reconnectDebounceMs?: number; intervalMs?: number; batchSize?: number; retrySchedule?: number[] };
  deviceId?: string;
}

export type SyncRecord = { id: string; [field: string]: unknown };

export interface ListOptions {
  where?: Record<string, unknown>;
  orderBy?: string;
  desc?: boolean;
  limit?: number;
  offset?: number;
  includeDeleted?: boolean;
}

export interface SyncResult { pulled: number; pushed: number; conflicts: number; failed: number; error?: string; }

export interface Status {
  online: boolean; syncing: boolean; pending: number; failed: number; conflicts: number;
  lastSyncAt: string | null; lastError: string | null;
  /** 'sync-event': this browser has Background Sync; 'fallback': the service worker syncs on
   *  start-up, `online` and `visibilitychange` instead (docs/BROWSERS.md). */
  backgroundSync: 'sync-event' | 'fallback';
}

export interface Conflict {
  id: string; collection: string; recordId: string;
  kind: 'edit-edit' | 'delete-edit' | 'edit-delete';
  local: SyncRecord | null; remote: SyncRecord | null; base: SyncRecord | null;
  fields: string[]; createdAt: string;
}

export interface OutboxEntry {
  opId: string; collection: string; recordId: string; kind: 'create' | 'update' | 'delete';
  status: 'pending' | 'inflight' | 'held' | 'failed' | 'rejected';
  attempts: number; nextAttemptAt: string | null; lastError: string | null; createdAt: string;
}

export interface ArchivedVersion {
  data: Record<string, unknown> | null; version: number; hlc: string;
  updatedAt: string | null; deviceId: string | null; archivedAt: string;
}

export interface ChangeEvent { collection: string; ids: string[]; origin: 'local' | 'remote' | 'other-context'; }
export interface ProgressEvent { phase: 'pull' | 'push'; done: number; total: number; }

export interface Store {
  put(collection: string, record: Partial<SyncRecord>): Promise<SyncRecord>;
  patch(collection: string, id: string, fields: Record<string, unknown>): Promise<SyncRecord>;
  get(collection: string, id: string): Promise<SyncRecord | null>;
  delete(collection: string, id: string): Promise<boolean>;
  list(collection: string, options?: ListOptions): Promise<SyncRecord[]>;
  count(collection: string, options?: { where?: Record<string, unknown> }): Promise<number>;
  sync(): Promise<SyncResult>;
  status(): Status;
  on(event: 'change', fn: (e: ChangeEvent) => void): () => void;
  on(event: 'status', fn: (s: Status) => void): () => void;
  on(event: 'progress', fn: (e: ProgressEvent) => void): () => void;
  on(event: 'conflict', fn: (c: Conflict) => void): () => void;
  conflicts(): Promise<Conflict[]>;
  resolve(conflictId: string, choice: 'mine' | 'theirs' | Record<string, unknown>): Promise<SyncRecord | null>;
  archive(query: { collection: string; recordId: string }): Promise<ArchivedVersion[]>;
  outbox(): Promise<OutboxEntry[]>;
  retryFailed(): Promise<number>;
  discard(opId: string): Promise<boolean>;
  importLegacy(blob: unknown, mapping: Record<string, string | { collection: string; singleton?: boolean }>,
               options?: { pending?: boolean }): Promise<{ imported: Record<string, number>; unmapped: string[] }>;
  close(): Promise<void>;
}

export function openStore(options: StoreOptions): Promise<Store>;
export function normalizeTime(value: string | number | Date, options?: { assumeOffsetMinutes?: number }): string;
export function createHttpTransport(remote: { url: string; token?: () => Promise<string> | string; timeoutMs?: number }): Transport;
/** Resolves when the wasm module has loaded (normalizeTime needs it). */
export const ready: Promise<unknown>;
/** Call at the top level of a service worker: runs store.sync() on `sync` / `periodicsync` events. */
export function handleSyncEvents(openFn: (name: string) => Promise<Store> | Store): (name: string) => Promise<Store>;
