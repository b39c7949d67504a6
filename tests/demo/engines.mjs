// engines.mjs — the demo farm's core click-through on Firefox ESR or WebKitGTK through
// tests/engines/launch.mjs (Chromium has the whole of demo.mjs): first visit until the service worker controls the page,
// add a flock through the editor and watch <syncore-status> say "All changes synced", device B
// gets it by itself, both edit it while B is offline, B's <syncore-conflicts> badge counts one
// conflict, Keep mine in its dialog, and A converges. demo.mjs drives the same app with
// Playwright's locators, which need Playwright's own patched browsers; here the steps find the
// buttons by their text and labels in the page (open shadow roots included) and click them.
// B is offline as its page sees it (Firefox: the page's network emulation; WebKit: navigator.onLine,
// and B comes back by reopening the page); its service worker keeps the network, which is
// why Chromium, whose Background Sync would sync from there, is not run here.
// Needs `make demo-stage` (DEMO_WWW=its www dir). Usage: node tests/demo/engines.mjs [--engine firefox|webkit]
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from '../engines/launch.mjs';
import { startServer, ROOT, tmp } from '../server/lib.mjs';

const argv = process.argv.slice(2);
const engineAt = argv.indexOf('--engine');
const engine = engineAt >= 0 ? argv.splice(engineAt, 2)[1] : 'firefox';
if (!['firefox', 'webkit'].includes(engine)) throw new Error(`tests/demo/engines.mjs runs on firefox or webkit, not ${engine}`);
const check = (cond, what) => { if (!cond) throw new Error(what); };

// In the page: elements across open shadow roots; a button by its text or aria-label.
const HELPERS = () => {
  const all = (root, sel) => {
    const out = [...root.querySelectorAll(sel)];
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) out.push(...all(el.shadowRoot, sel));
    return out;
  };
  const label = (el) => (el.getAttribute('aria-label') || el.textContent).trim();
  window.ui = {
    all: (sel, root = document) => all(root, sel),
    button(name, root = document) {
      return all(root, 'button').find((b) => label(b) === name && !b.disabled && b.getClientRects().length) || null;
    },
    click(name, root) { const b = window.ui.button(name, root); if (!b) return false; b.click(); return true; },
    fill(fields) {
      const form = document.querySelector('#editor');
      for (const [name, value] of Object.entries(fields)) {
        const el = form.querySelector(`[name="${name}"]`);
        if (el.tagName === 'SELECT') el.value = [...el.options].find((o) => o.text === value).value;
        else el.value = String(value);
        el.dispatchEvent(new Event('input', { bubbles: true }));
        el.dispatchEvent(new Event('change', { bubbles: true }));
      }
    },
    card: (name) => [...document.querySelectorAll('article.flock')].find((a) => a.querySelector('h2')?.textContent === name) || null,
    statusText: () => (all(document, 'syncore-status [part="text"], [part="text"]')[0] || {}).textContent || '',
    badge: () => all(document, '[part="badge"]').find((b) => b.getClientRects().length) || null,
  };
  return true;
};

const pages = [];
async function openDemo(browser, base, path) {
  const page = await browser.newPage(`${base}${path}`);
  pages.push(page);
  await page.waitFor(() => document.body && document.body.dataset.ready !== undefined, null, 30000);
  await page.evaluate(HELPERS);
  return page;
}
const synced = (page) => page.waitFor(() => {
  const s = window.store.status();
  return s.pending === 0 && !s.syncing && s.lastSyncAt && window.ui.statusText().includes('All changes synced');
}, null, 30000);
async function edit(page, name, fields) {
  check(await page.evaluate((n) => window.ui.click(`Edit ${n}`, window.ui.card(n)), name), `an Edit ${name} button`);
  await page.waitFor(() => Boolean(document.querySelector('#editor [name="hens"]')));
  await page.evaluate((f) => window.ui.fill(f), fields);
  check(await page.evaluate(() => window.ui.click('Save changes', document.querySelector('#editor'))), 'a Save changes button');
}
const hens = (page, name) => page.evaluate((n) => window.ui.card(n)?.querySelector('.hens strong')?.textContent ?? null, name);

const dbDir = tmp('syncore-demo-engines-db-');
const profile = tmp('syncore-demo-engines-');
const server = await startServer(`sqlite:${join(dbDir, 'demo.db')}`, ['--static', process.env.DEMO_WWW || join(ROOT, 'build/demo/www')]);
const browser = await launch(engine, { profile, origin: server.base });
let passed = 0, failed = 0;
const t0 = Date.now();
const name = 'Barn E';
try {
  const pa = await openDemo(browser, server.base, '/demo/');
  await pa.waitFor(() => navigator.serviceWorker.controller !== null, null, 30000);
  await synced(pa);
  check(await pa.evaluate(() => window.ui.click('Add flock')), 'an Add flock button');
  await pa.waitFor(() => Boolean(document.querySelector('#editor [name="name"]')));
  await pa.evaluate((n) => window.ui.fill({ name: n, hens: 200, breed: 'ISA Brown' }), name);
  check(await pa.evaluate(() => window.ui.click('Add flock', document.querySelector('#editor'))), 'the editor\'s Add flock button');
  await pa.waitFor((n) => Boolean(window.ui.card(n)), name);
  await synced(pa);
  const pb = await openDemo(browser, server.base, '/demo/?device=b');
  await pb.waitFor((n) => Boolean(window.ui.card(n)), name, 30000);      // B pulls it by itself
  if (engine === 'firefox') await pb.raw.setOfflineMode(true);
  else {
    await pb.evaluate(() => {
      Object.defineProperty(Navigator.prototype, 'onLine', { configurable: true, get: () => false });
      window.dispatchEvent(new Event('offline'));
    });
  }
  await pb.waitFor(() => window.store.status().online === false);
  await edit(pb, name, { hens: 150 });
  await edit(pa, name, { hens: 250 });
  await synced(pa);
  if (engine === 'firefox') await pb.raw.setOfflineMode(false);
  else {
    // WebKitWebDriver has no network emulation: B comes back by reopening the page (online).
    console.log('       (offline as the page sees it on this engine: no network emulation in its driver)');
    await pb.reload();
    await pb.waitFor(() => document.body && document.body.dataset.ready !== undefined, null, 30000);
    await pb.evaluate(HELPERS);
  }
  await pb.waitFor(() => (window.ui.badge() || {}).textContent === '1Conflict', null, 30000);
  check(await pb.evaluate(() => { window.ui.badge().click(); return true; }), 'the conflicts badge opens');
  await pb.waitFor(() => Boolean(window.ui.button('Keep mine')), null, 10000);
  await pb.evaluate(() => window.ui.click('Keep mine'));
  await pb.waitFor(() => window.store.status().conflicts === 0, null, 10000);
  await synced(pb);
  await pa.waitFor((n) => window.ui.card(n)?.querySelector('.hens strong')?.textContent === '150', name, 30000);
  check(await hens(pb, name) === '150', 'B kept its own edit');
  passed++;
  console.log(`  ok   [${engine}] demo: first visit under the service worker, add a flock, device B gets it, an offline edit conflicts, Keep mine converges (${Date.now() - t0} ms)`);
} catch (e) {
  failed++;
  for (const p of pages) console.log('       page state:', await p.evaluate(() => ({ url: location.href, status: window.store && window.store.status(), text: window.ui && window.ui.statusText() })).catch((err) => err.message));
  console.log(`  FAIL [${engine}] demo click-through\n       ${String(e.stack || e).split('\n').slice(0, 5).join('\n       ')}`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(dbDir, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
