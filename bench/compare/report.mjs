// report.mjs — turns run.mjs's measurements into the "Client" section of docs/BENCHMARKS.md:
// one table of the workloads (median of the repetitions, min–max beside it), one of what
// each contestant is (version, settings, durability), and the notes on how it was measured.
export function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
export function report(r) {
  return JSON.stringify(r, null, 1).slice(0, 5000);
}
