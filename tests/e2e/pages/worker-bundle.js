// worker-bundle.js — a module worker on the single-file ES module build: opens a store with
// syncore.bundle.js's openStore, writes and reads back, and answers the harness's probe()
// with the record and the bundle's export names (the same as syncore.js's).
import * as syncore from '/js-glue/syncore.bundle.js';

self.onmessage = async (e) => {
  const { id } = e.data;
  try {
    const store = await syncore.openStore({ name: 'bundled', collections: { notes: {} } });
    await store.put('notes', { id: 'b1', text: 'from the bundle' });
    const record = await store.get('notes', 'b1');
    await store.close();
    self.postMessage({ id, value: { record, exports: Object.keys(syncore).sort() } });
  } catch (err) {
    self.postMessage({ id, value: { error: String((err && err.stack) || err) } });
  }
};
