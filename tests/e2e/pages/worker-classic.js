// worker-classic.js — a classic worker: importScripts the classic build and load the
// module; answers the harness's probe() with what it found (SPEC §8).
importScripts('/js-glue/syncore.classic.js');

self.onmessage = async (e) => {
  const { id } = e.data;
  try {
    const s = self.syncore;
    const core = await (s.loadCore ? s.loadCore() : s.ready);
    self.postMessage({ id, value: { ok: Boolean(core), exports: Object.keys(s) } });
  } catch (err) {
    self.postMessage({ id, value: { ok: false, error: String((err && err.message) || err) } });
  }
};
