// memory.mjs — peak resident memory of the browser's renderer processes while some work runs
// (the worker and service worker of a page live in a renderer process): samples VmRSS from
// /proc of every renderer descended from the browser whose --user-data-dir is the profile.
import { readdirSync, readFileSync } from 'node:fs';

function processes() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(d), ppid, cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8') });
    } catch { /* gone */ }
  }
  return out;
}

function rssOf(pid) {
  try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024; } catch { return 0; }
}

// → { stop() → { peakBytes, peakTotalBytes } }: the largest single renderer and the largest sum seen.
export function sampleRenderers(profile, everyMs = 200) {
  let peak = 0, peakTotal = 0;
  const sample = () => {
    const all = processes();
    const browser = all.find((p) => p.cmd.includes(`--user-data-dir=${profile}`) && !p.cmd.includes('--type='));
    if (!browser) return;
    const kids = new Map();
    for (const p of all) { if (!kids.has(p.ppid)) kids.set(p.ppid, []); kids.get(p.ppid).push(p); }
    let total = 0;
    const walk = (pid) => {
      for (const c of kids.get(pid) || []) {
        if (c.cmd.includes('--type=renderer')) { const r = rssOf(c.pid); total += r; peak = Math.max(peak, r); }
        walk(c.pid);
      }
    };
    walk(browser.pid);
    peakTotal = Math.max(peakTotal, total);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return { stop() { clearInterval(timer); sample(); return { peakBytes: peak, peakTotalBytes: peakTotal }; } };
}
