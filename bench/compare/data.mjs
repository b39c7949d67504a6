// data.mjs — the deterministic data of `make bench` and its judge, shared by the node driver
// (run.mjs: what it pushes to the server, what it expects) and the workers (what they edit
// and write). Records are EGGlogU daily-production rows of about 300 bytes of JSON; each is a
// pure function of (generation, index), so every side derives the same bytes without
// shipping them. The judge computes the end state every contestant must reach from the
// scenario alone, never from a contestant; states are compared as digests of a canonical
// form (ids sorted, object keys sorted).

export const COLLECTION = 'daily';
export const PAGE = 500;                       // changes per pulled page (the server's default)

// Generations: which version of a record a side holds.
const GEN = { base: 0, edit: 1, update: 2, create: 3, write: 4, million: 5 };
const FLOCKS = 40;
const WORDS = ('fed layer mash at dawn water lines flushed two cracked nest boxes cleaned litter turned ' +
  'vaccinated against newcastle grit added lights on at five hens calm one broody moved to pen ' +
  'feed delivery short by a bag egg belt jammed briefly fixed temperature dropped overnight').split(' ');

// mulberry32: a small seeded PRNG (tests/seeds/lib.mjs re-exports it as `prng`).
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rngFor = (gen, i) => mulberry32(Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(gen + 7, 0x85ebca6b));
const hex = (rng, n) => { let s = ''; for (let k = 0; k < n; k++) s += ((rng() * 16) | 0).toString(16); return s; };

// The id of the i-th record (base and creates share one id space: creates follow the base).
export function recordId(i) {
  const r = rngFor(99, i);
  return `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-8${hex(r, 3)}-${hex(r, 12)}`;
}

// The data (no id) of the i-th record in generation gen: ~300 bytes as JSON.
export function recordData(gen, i) {
  const r = rngFor(GEN[gen] ?? gen, i);
  const day = Math.floor(i / FLOCKS);
  const notes = [];
  const words = 8 + ((r() * 10) | 0);
  for (let k = 0; k < words; k++) notes.push(WORDS[(r() * WORDS.length) | 0]);
  const collected = 150 + ((r() * 120) | 0);
  return {
    flockId: `flock-${String(i % FLOCKS).padStart(2, '0')}`,
    date: new Date(Date.UTC(2020, 0, 1) + day * 86400000).toISOString().slice(0, 10),
    eggsCollected: collected, eggsBroken: (r() * 6) | 0, eggsDirty: (r() * 9) | 0,
    eggsSold: collected - 20 - ((r() * 30) | 0),
    feedKg: Math.round((20 + r() * 15) * 10) / 10, waterL: Math.round((40 + r() * 30) * 10) / 10,
    mortality: r() < 0.1 ? 1 : 0, avgEggWeightG: Math.round((55 + r() * 12) * 10) / 10,
    tempC: Math.round((12 + r() * 18) * 10) / 10, humidityPct: 40 + ((r() * 40) | 0),
    shift: r() < 0.5 ? 'morning' : 'afternoon', recordedBy: `user-${(r() * 12) | 0}`,
    notes: notes.join(' '), rev: gen,
  };
}

// Sizes (env BENCH_* in run.mjs): base records, local edits among them, how many of those
// the pull also changes (the conflicts), remote updates and remote creates in the pull.
export const DEFAULT_SIZES = { base: 20000, edits: 2000, conflicts: 1500, updates: 10000, creates: 10000 };

// Which base indices are edited locally and which the pull updates: a fixed permutation, so
// edits, updates and their overlap (the conflicts) are spread over the store.
export function scenario(sizes = DEFAULT_SIZES) {
  const { base, edits, conflicts, updates, creates } = sizes;
  if (conflicts > edits || edits - conflicts + updates > base) throw new Error(`bench: sizes do not fit: ${JSON.stringify(sizes)}`);
  const perm = Array.from({ length: base }, (_, i) => i);
  const r = mulberry32(20261202);
  for (let k = base - 1; k > 0; k--) { const j = (r() * (k + 1)) | 0; [perm[k], perm[j]] = [perm[j], perm[k]]; }
  const edited = perm.slice(0, edits);
  const updated = perm.slice(edits - conflicts, edits - conflicts + updates);
  const created = Array.from({ length: creates }, (_, k) => base + k);
  return { sizes, edited, updated, created, total: base + creates, pull: updates + creates };
}

// The pull's changes in the order the other device pushes them: updates and creates interleaved.
export function remoteChanges(sc) {
  const out = [];
  const n = Math.max(sc.updated.length, sc.created.length);
  for (let k = 0; k < n; k++) {
    if (k < sc.updated.length) out.push({ kind: 'update', i: sc.updated[k], gen: 'update' });
    if (k < sc.created.length) out.push({ kind: 'create', i: sc.created[k], gen: 'create' });
  }
  return out;
}

// ---------------------------------------------------------------- judge

// The end state after first sync (base), the local edits, and the pull: every local edit is
// kept (held back where the pull changed the record too: a conflict with the remote side kept
// aside), every other pulled change applied. Digests of records and conflicts, and the count
// of unpushed local operations.
export function judge(sc) {
  const records = new Map();
  for (let i = 0; i < sc.sizes.base; i++) records.set(i, ['base', i]);
  for (const i of sc.updated) records.set(i, ['update', i]);
  for (const i of sc.created) records.set(i, ['create', i]);
  const editedSet = new Set(sc.edited);
  for (const i of sc.edited) records.set(i, ['edit', i]);
  const conflicts = sc.updated.filter((i) => editedSet.has(i)).map((i) => [recordId(i), recordData('update', i)]);
  return {
    records: digestPairs([...records.values()].map(([g, i]) => [recordId(i), recordData(g, i)])),
    conflicts: digestPairs(conflicts),
    pending: sc.edited.length,
  };
}

// The state right after the first sync: the base records, nothing pending.
export function judgeFirstSync(sc) {
  const pairs = [];
  for (let i = 0; i < sc.sizes.base; i++) pairs.push([recordId(i), recordData('base', i)]);
  return { records: digestPairs(pairs), conflicts: digestPairs([]), pending: 0 };
}

// ---------------------------------------------------------------- canonical digest

export function canonical(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
}

// [[id, data], ...] in any order → { count, hash }: cyrb53-style 64-bit hash of the sorted
// `id=canonical(data)` lines (a data object's own `id` key is ignored).
export function digestPairs(pairs) {
  const sorted = pairs.map(([id, data]) => {
    const d = data && typeof data === 'object' && 'id' in data ? (({ id: _, ...rest }) => rest)(data) : data;
    return [String(id), d];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (const [id, d] of sorted) {
    const line = `${id}=${canonical(d)}\n`;
    for (let k = 0; k < line.length; k++) {
      const c = line.charCodeAt(k);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return { count: sorted.length, hash: (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0') };
}
