// api.js — what the browser tests drive in every context (window, dedicated worker,
// service worker): open a store through core.js + storage-idb.js, run SQL or core
// calls on it, and write loops that report each write whose promise resolved.
import { loadCore } from '/js-glue/core.js';
import { openDatabase, deleteStoredDatabase } from '/js-glue/storage-idb.js';

export function makeApi(report = () => {}) {
  const dbs = new Map();
  const remote = [];
  const db = (name) => {
    if (!dbs.has(name)) throw new Error(`test: ${name} not open`);
    return dbs.get(name);
  };
  return {
    async open(name, storage = 'auto', config = {}) {
      const core = await loadCore();
      const d = await openDatabase(core, { name, storage, config });
      d.onRemoteCommit((event) => remote.push(event));
      dbs.set(name, d);
      return d.backend;
    },
    sql: (name, text) => db(name).sql(text),
    call: (name, method, input) => db(name).call(method, input),
    read: (name, method, input) => db(name).read(method, input),
    refresh: (name) => db(name).refresh(),
    remoteCommits: () => remote.length,
    async close(name) { await db(name).close(); dbs.delete(name); },
    deleteStored: (name) => deleteStoredDatabase(name),
    // Insert rows (writer, i) for i in [from, to); report(i) after each resolved write.
    async writeLoop(name, writer, from, to, pad = 0) {
      for (let i = from; i < to; i++) {
        await db(name).sql(`INSERT INTO t(writer, i, pad) VALUES('${writer}', ${i}, randomblob(${pad}))`);
        report(writer, i);
      }
      return to - from;
    },
    // Like writeLoop, but a rejected write is counted instead of ending the loop.
    async writeLoopTolerant(name, writer, from, to) {
      const failed = [];
      for (let i = from; i < to; i++) {
        try {
          await db(name).sql(`INSERT INTO t(writer, i, pad) VALUES('${writer}', ${i}, randomblob(200))`);
          report(writer, i);
        } catch (e) { failed.push(e.code); }
      }
      return failed;
    },
    // Core puts of records {id: writer-i, writer, i} into collection notes.
    async putLoop(name, writer, from, to) {
      for (let i = from; i < to; i++) {
        await db(name).call('put', { collection: 'notes', record: { id: `${writer}-${i}`, writer, i } });
        report(writer, i);
      }
      return to - from;
    },
    changedIds: () => remote.flatMap((e) => (e.changed || []).flatMap((c) => c.ids)),
    error: async (fn) => { try { await fn(); return null; } catch (e) { return { code: e.code, message: e.message }; } },
    async openError(name, storage) {
      try { await this.open(name, storage); return null; } catch (e) { return { code: e.code, message: e.message }; }
    },
  };
}

// Serve the api over postMessage ({id, method, args} → {id, value | error}).
export function serveApi(api, post) {
  return async (message) => {
    const { id, method, args } = message;
    try {
      post({ id, value: await api[method](...args) });
    } catch (e) {
      post({ id, error: { code: e.code, message: e.message, name: e.name } });
    }
  };
}
