// normtime.js — workload 5: a million mixed time inputs (ISO with Z or an offset, a space for
// the T, lower-case t/z with hh:mm, more than millisecond digits, a date alone, epoch
// milliseconds either side of 1970, Date objects, and one impossible date in twenty) through
// syncore's normalizeTime and through the same conversion in plain JS (normalizeTimeJs, a
// regex and Date.UTC). Both must give the same answer — the same string, or both throw — for
// every input; the bench fails otherwise.

const RE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))?$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const leap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

// value → 'YYYY-MM-DDTHH:MM:SS.mmmZ', or throws a RangeError / TypeError.
export function normalizeTimeJs(value, assumeOffsetMinutes = 0) {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new RangeError('invalid Date');
    return value.toISOString();
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError('not a finite number');
    return new Date(Math.trunc(value)).toISOString();
  }
  if (typeof value !== 'string') throw new TypeError('not a time');
  const m = RE.exec(value);
  if (!m) throw new RangeError(`not a time: ${value}`);
  const y = +m[1], mo = +m[2], d = +m[3], h = +(m[4] ?? 0), mi = +(m[5] ?? 0), s = +(m[6] ?? 0);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > (mo === 2 && leap(y) ? 29 : DAYS[mo - 1]) || h > 23 || mi > 59 || s > 59) {
    throw new RangeError(`impossible time: ${value}`);
  }
  const ms = m[7] ? +(m[7] + '00').slice(0, 3) : 0;
  const offset = m[8] ? 0 : m[9] ? (m[9] === '-' ? -1 : 1) * (+m[10] * 60 + +m[11]) : assumeOffsetMinutes;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  return new Date(date.getTime() - offset * 60000).toISOString();
}

const p2 = (n) => String(n).padStart(2, '0');

// The k-th input of the mix (deterministic).
export function timeInput(k) {
  const x = Math.imul(k + 1, 2654435761) >>> 0;
  const y = 1990 + (x % 40), mo = 1 + ((x >>> 6) % 12), d = 1 + ((x >>> 10) % 28);
  const h = (x >>> 15) % 24, mi = (x >>> 20) % 60, s = (x >>> 26) % 60;
  const date = `${y}-${p2(mo)}-${p2(d)}`;
  switch (k % 10) {
    case 0: return `${date}T${p2(h)}:${p2(mi)}:${p2(s)}.${String(x % 1000).padStart(3, '0')}Z`;
    case 1: return `${date}T${p2(h)}:${p2(mi)}:${p2(s)}+0${x % 10}:${k % 4 ? '00' : '30'}`;
    case 2: return `${date} ${p2(h)}:${p2(mi)}:${p2(s)}-0${x % 9}:00`;
    case 3: return date;
    case 4: return x * 400;                                  // epoch ms, 1970–2024
    case 5: return new Date(Date.UTC(y, mo - 1, d, h, mi, s, x % 1000));
    case 6: return `${date}t${p2(h)}:${p2(mi)}z`;
    case 7: return `${date}T${p2(h)}:${p2(mi)}:${p2(s)}.${String(x).padStart(9, '0').slice(0, 6)}Z`;
    case 8: return k % 20 === 8 ? `${y}-02-30T${p2(h)}:00:00Z` : -(x * 100);
    default: return `${date}T${p2(h)}:${p2(mi)}:${p2(s)}Z`;
  }
}

// Run both over n inputs → { syncoreMs, jsMs, errors, mismatches: first few }.
export function compareNormalize(normalizeTime, n) {
  const inputs = Array.from({ length: n }, (_, k) => timeInput(k));
  const run = (fn) => {
    const out = new Array(n);
    const t = performance.now();
    for (let k = 0; k < n; k++) {
      try { out[k] = fn(inputs[k]); } catch (e) { out[k] = e instanceof RangeError || e instanceof TypeError ? null : `threw ${e}`; }
    }
    return { ms: performance.now() - t, out };
  };
  const sc = run((v) => normalizeTime(v));
  const js = run((v) => normalizeTimeJs(v));
  const mismatches = [];
  let errors = 0;
  for (let k = 0; k < n; k++) {
    if (sc.out[k] === null) errors++;
    if (sc.out[k] !== js.out[k] && mismatches.length < 5) mismatches.push({ input: String(inputs[k]), syncore: sc.out[k], js: js.out[k] });
  }
  return { syncoreMs: sc.ms, jsMs: js.ms, errors, mismatches };
}
