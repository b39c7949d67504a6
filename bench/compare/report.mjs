// report.mjs — turns run.mjs's measurements into the "Client" section of docs/BENCHMARKS.md:
// the workloads against the contestants (median of the repetitions, min–max beside it),
// what each contestant is (version, settings, durability), the issue's targets as ratios
// measured in the same run, and how it was measured.

export function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
const median = (xs) => {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtInt = (x) => Math.round(x).toLocaleString('en-US');
const fmtMs = (x) => (x >= 100 ? fmtInt(x) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const range = (xs, f) => (xs.length > 1 ? ` (${f(Math.min(...xs))}–${f(Math.max(...xs))})` : '');

// xs: one figure per repetition → 'median (min–max)'.
const cell = (xs, f) => (xs.length ? `${f(median(xs))}${range(xs, f)}` : '–');

const LABELS = {
  'syncore-idb': 'syncore `idb`', 'syncore-opfs': 'syncore `opfs`', 'syncore-sw': 'syncore `idb`, service worker',
  idb: 'raw IndexedDB', dexie: 'Dexie 4', sahpool: 'SQLite wasm opfs-sahpool', wasqlite: 'wa-sqlite IDBBatchAtomic', pouchdb: 'PouchDB 9 (strict)',
};

// '3 repetitions', or what each contestant got when BENCH_DEADLINE_S cut the run short.
function repsText(keys, results, reps) {
  const got = keys.map((k) => results[k].length);
  if (got.every((n) => n === reps)) return `${reps} repetitions`;
  return `the repetitions each contestant completed before BENCH_DEADLINE_S (of ${reps}: ` +
    `${keys.map((k, i) => `${LABELS[k]} ${got[i]}`).join(', ')})`;
}

export function report({ sizes, reps, writes, timesN, variants, results, describes, bytes, times, env }) {
  const keys = variants.map((v) => v.key);
  const per = (k, f) => results[k].map(f).filter((x) => x !== null && Number.isFinite(x));
  const figures = {
    pull: (k) => per(k, (r) => (sizes.updates + sizes.creates) / (r.pull / 1000)),
    first: (k) => per(k, (r) => sizes.base / (r.first / 1000)),
    cold: (k) => per(k, (r) => (r.cold ? r.cold.openMs : null)),
    coldLoad: (k) => per(k, (r) => (r.cold ? r.cold.ms : null)),
    write: (k) => per(k, (r) => pct(r.writes, 0.5)),
    memory: (k) => per(k, (r) => r.peakBytes / 2 ** 20),
  };
  const total = sizes.base + sizes.creates;
  const rows = [
    [`apply a pull of ${fmtInt(sizes.updates + sizes.creates)} changes in pages of 500 into a ${fmtInt(sizes.base)}-record store with ` +
      `${fmtInt(sizes.edits)} unpushed edits (${fmtInt(sizes.conflicts)} conflicts), records/s`, (k) => cell(figures.pull(k), fmtInt)],
    [`the same path into an empty store (first sync, ${fmtInt(sizes.base)} changes), records/s`, (k) => cell(figures.first(k), fmtInt)],
    [`cold open of that ${fmtInt(total)}-record store in a new worker until the pending count returns, ms`, (k) => cell(figures.cold(k), fmtMs)],
    ['  the same from `new Worker()` (module load and compile included), ms', (k) => cell(figures.coldLoad(k), fmtMs)],
    [`one durable write (record + outbox entry, one transaction), p50 of ${writes}, ms`, (k) => cell(figures.write(k), fmtMs)],
    ['peak resident memory of the renderer process during the whole run above, MiB', (k) => cell(figures.memory(k), fmtInt)],
    ['shipped, gzipped KiB (JS + wasm the worker loaded)', (k) => {
      const b = bytes[k] ?? (k === 'syncore-sw' ? bytes['syncore-idb'] : null);
      return b ? `${(b.gz / 1024).toFixed(b.gz < 10240 ? 1 : 0)}` : '–';
    }],
  ];
  const lines = [
    '## Client',
    '',
    `Measured by \`make bench\` (bench/compare/run.mjs) on ${env.date}, tree ${env.commit}: ${env.cpu}, ${env.cores} cores shared with other work, ` +
    `${env.memGiB} GiB; headless Debian Chromium ${env.browserVersion} driven by playwright-core ${env.playwright}, one session, ` +
    'fresh profile; the real `build/syncore-server` (SQLite, built with ' + `MODE=${env.serverMode}) on 127.0.0.1 serving the protocol ` +
    'and the pages (`--static`). ' +
    `Every contestant in a dedicated worker (syncore also in a service worker); medians of ${repsText(keys, results, reps)} with min–max, ` +
    `the order rotated and reversed every other repetition; whole run ${fmtInt(env.elapsed)} s.`,
    '',
    `| work | ${keys.map((k) => LABELS[k]).join(' | ')} |`,
    `|---|${keys.map(() => '---:').join('|')}|`,
    ...rows.map(([what, f]) => `| ${what} | ${keys.map(f).join(' | ')} |`),
    '',
  ];
  if (times.length) {
    const sc = times.map((t) => t.syncoreMs), js = times.map((t) => t.jsMs);
    lines.push(`normalizeTime over ${fmtInt(timesN)} mixed inputs (bench/compare/normtime.js; ${fmtInt(times[0].errors)} of them ` +
      `impossible dates both reject): syncore ${cell(sc, fmtInt)} ms, the same conversion in plain JS ${cell(js, fmtInt)} ms ` +
      `(syncore ${(median(sc) / median(js)).toFixed(1)}× the plain JS time; every answer equal).`, '');
  }
  let goals;
  try { goals = targets({ keys, figures, bytes }); } catch { goals = ['Targets (issue 8): not enough runs completed to compute them.']; }
  lines.push(...goals, '');
  lines.push('| contestant | version | settings | durability |', '|---|---|---|---|');
  for (const k of keys) {
    const d = describes[k] || {};
    const ver = k.startsWith('syncore') ? 'this tree' : `${{ dexie: env.packages.dexie, sahpool: env.packages.sqlite,
      wasqlite: env.packages.wasqlite, pouchdb: env.packages.pouchdb }[k] ?? 'Chromium'}${d.version ? ` (SQLite ${d.version})` : ''}`;
    lines.push(`| ${LABELS[k]} | ${k === 'dexie' || k === 'pouchdb' ? ver.replace(/ \(SQLite.*/, '') : ver} | ${d.settings ?? ''} | ${d.durability ?? ''} |`);
  }
  lines.push('', ...NOTES(sizes));
  return lines.join('\n') + '\n';
}

// The targets of issue 8, each as a ratio of figures from this run.
function targets({ keys, figures, bytes }) {
  const best = (fig, pick) => {
    const others = keys.filter((k) => !k.startsWith('syncore')).map((k) => [k, median(fig(k))]).filter(([, v]) => v !== undefined);
    return others.length ? others.reduce((a, b) => (pick(b[1], a[1]) ? b : a)) : null;
  };
  const out = ['Targets (issue 8), as ratios within this run:'];
  const s = (fig, k) => median(fig(k));
  if (!keys.includes('syncore-idb')) return [];
  const hi = (a, b) => a > b, lo = (a, b) => a < b;
  for (const [what, fig, goal] of [['pull apply', figures.pull, 2], ['first sync', figures.first, 2]]) {
    const b = best(fig, hi);
    if (b) {
      const where = ['syncore-idb', 'syncore-sw'].filter((k) => keys.includes(k))
        .map((k) => `${LABELS[k]} ${(s(fig, k) / b[1]).toFixed(2)}×`).join(', ');
      out.push(`- ${what}: ${where} the best other (${LABELS[b[0]]}, ${fmtInt(b[1])}/s); target ≥ ${goal}×.`);
    }
  }
  const cold = s(figures.cold, 'syncore-idb');
  const sqlCold = ['sahpool', 'wasqlite'].filter((k) => keys.includes(k)).map((k) => s(figures.cold, k));
  if (keys.includes('dexie')) {
    out.push(`- cold open: syncore \`idb\` ${fmtMs(cold)} ms = ${(cold / s(figures.cold, 'dexie')).toFixed(2)}× Dexie` +
      (sqlCold.length ? `, ${(cold / Math.min(...sqlCold)).toFixed(2)}× the fastest SQLite contestant` : '') + '; target ≤ 1× Dexie.');
  }
  if (keys.includes('idb')) {
    out.push(`- one durable write: syncore \`idb\` ${(s(figures.write, 'syncore-idb') / s(figures.write, 'idb')).toFixed(2)}× raw IndexedDB; target ≤ 1.3×.`);
  }
  if (bytes['syncore-idb']) out.push(`- shipped: syncore ${fmtInt(bytes['syncore-idb'].gz)} bytes gzipped (wasm + glue); target < 320 KB.`);
  return out;
}

const NOTES = (sizes) => [
  'The same work for everyone. Records are EGGlogU daily-production rows of about 300 bytes of JSON (bench/compare/data.mjs,',
  'a pure function of generation and index). Per contestant and repetition, in a partition of its own, the script pushes',
  `${fmtInt(sizes.base)} creates to the server; the contestant's first sync pulls them (row 2); it makes ${fmtInt(sizes.edits)} local edits`,
  `(untimed); another device pushes ${fmtInt(sizes.updates)} updates (${fmtInt(sizes.conflicts)} of them to edited records) and ` +
  `${fmtInt(sizes.creates)} creates; the contestant pulls them (row 1);`,
  'the worker is closed and a new one opens the store and counts the unpushed operations (row 3); then single durable writes (row 4).',
  'Every contestant fetches the same `GET /sync/pull?limit=500` pages from the same server. syncore runs its real path,',
  "`store.sync()` over its own HTTP transport, collection strategy `'ask'`; its push is held off (the transport's push",
  'answers as a network failure), so it does the same work as the others and ends in the same state. The others merge by',
  'hand with version-based detection: a change to a record with an unpushed edit whose base version it moved past is a',
  'conflict kept aside (local edit kept), any other newer change is applied; one transaction per page with its cursor',
  "(PouchDB has none across documents: the cursor commits right after the page's bulkDocs). raw IndexedDB, Dexie and PouchDB",
  "merge in JS (Dexie's lookups go through the seed's `client_id` index); the two SQLite stacks merge in SQL: the page's",
  'raw JSON text goes in as one bind and `json_each` drives an upsert and a conflict insert (bench/compare/sql.mjs).',
  'After each sync, records, conflicts (their remote side) and the pending count are digested in the worker and compared',
  "with the judge's digests computed from the generated data alone (data.mjs `judge`); a difference fails the run.",
  'Shipped bytes: the files under /js-glue/ and /node_modules/ the worker fetched (resource timing), gzip -9 each.',
  '',
  'What this does not show: other browsers, real devices or disks, several tabs at once, push (held off for everyone), or',
  'stores much larger than the sizes above. One machine with a shared CPU: compare ratios within a run, not figures across runs.',
];
