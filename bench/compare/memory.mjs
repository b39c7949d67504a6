// memory.mjs — peak resident memory of the renderer process that did some work (the worker and
// service worker of a page live in a renderer process). Samples /proc for every renderer
// descended from the browser whose --user-data-dir is the profile, keeping each one's peak
// VmRSS and its CPU time; the process that did the work is the one whose CPU time grew most
// while sampling (Chromium keeps a spare renderer and may reuse processes, so "the new one"
// would not do).
import { readdirSync, readFileSync } from 'node:fs';

function processes() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(d), ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]),
        cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8') });
    } catch { /* gone */ }
  }
  return out;
}

function rssOf(pid) {
  try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024; } catch { return 0; }
}

// → { stop() → { peakBytes, startBytes } }: the busiest renderer's peak RSS and its RSS when sampling began.
export function sampleRenderers(profile, everyMs = 200) {
  const seen = new Map();          // pid → { cpu0, cpu, rss0, peak }
  const sample = () => {
    const all = processes();
    const browser = all.find((p) => p.cmd.includes(`--user-data-dir=${profile}`) && !p.cmd.includes('--type='));
    if (!browser) return;
    const kids = new Map();
    for (const p of all) { if (!kids.has(p.ppid)) kids.set(p.ppid, []); kids.get(p.ppid).push(p); }
    const walk = (pid) => {
      for (const c of kids.get(pid) || []) {
        if (c.cmd.includes('--type=renderer')) {
          const rss = rssOf(c.pid);
          const s = seen.get(c.pid) ?? { cpu0: c.cpu, rss0: rss, peak: 0 };
          s.cpu = c.cpu;
          s.peak = Math.max(s.peak, rss);
          seen.set(c.pid, s);
        }
        walk(c.pid);
      }
    };
    walk(browser.pid);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      let busiest = null;
      for (const s of seen.values()) if (!busiest || s.cpu - s.cpu0 > busiest.cpu - busiest.cpu0) busiest = s;
      return { peakBytes: busiest?.peak ?? 0, startBytes: busiest?.rss0 ?? 0 };
    },
  };
}
