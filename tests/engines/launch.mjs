// launch.mjs — one way for the test scripts to drive the three browser engines, so a suite
// is written once and run per engine (docs/BROWSERS.md): Debian's Chromium through npm
// playwright-core (spawned here with a DevTools port, then connected over CDP), Debian's
// firefox-esr through npm puppeteer-core over WebDriver BiDi, and WebKitGTK's MiniBrowser
// through its WebKitWebDriver and npm selenium-webdriver, under xvfb-run. Nothing is ever
// downloaded: every driver is given the Debian binary's path.
//
//   const browser = await launch(engine, { profile })   engine 'chromium' | 'firefox' | 'webkit'
//   browser.engine, browser.can = { offline, kill, persistentProfile }
//   const page = await browser.newPage(url?)
//   await page.goto(url); await page.reload(); await page.close(); await page.bringToFront()
//   await page.evaluate(fn, arg)     fn(arg) runs in the page (awaited); its value comes back as JSON
//   await page.waitFor(fn, arg, ms)  polls evaluate until fn(arg) is truthy, with a deadline
//   const job = await page.start(fn, arg); await job.wait(ms)   fn runs on while others do
//   page.errors                      uncaught page errors the driver reported
//   await browser.setOffline(bool)   where can.offline (the driver's network emulation; Firefox: pages only)
//   await browser.close()            graceful: the profile is flushed and kept for a restart
//   await browser.kill()             SIGKILL of the browser's whole process group
// WebKit's WebDriver session keeps no data past its end (MiniBrowser in automation mode is
// ephemeral): launch('webkit', { persistent: true, profile, origin }) runs MiniBrowser as a
// plain process with its data in profile, driven through bridge.mjs, for restart and kill.
// page.raw / browser.raw are the driver's own objects, for the few engine-specific tests.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { launchBridged } from './bridge.mjs';

export const ENGINES = ['chromium', 'firefox', 'webkit'];
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = process.env.MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function until(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Engines named by the environment (ENGINES=firefox,webkit) or the argument list.
export function enginesFrom(list = process.env.ENGINES) {
  const names = (list || ENGINES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!ENGINES.includes(n)) throw new Error(`unknown engine '${n}' (one of ${ENGINES.join(', ')})`);
  return names;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve() : new Promise((r) => child.once('exit', r));
}

function killGroup(child) {
  try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
  return exited(child);
}

// The page-side wrapper every engine runs: await fn(arg), answer { value } or { error }.
const wrap = (fn) => `(${fn})`;
function unwrap(out) {
  if (out && 'error' in out) throw new Error(`in page: ${out.error}`);
  return out ? out.value : undefined;
}
let jobCount = 0;
function pageBase(page) {
  page.errors = [];
  page.waitFor = (fn, arg, ms = 20000) => until(() => page.evaluate(fn, arg), ms, `page condition ${String(fn).slice(0, 80)}`);
  // Start fn(arg) in the page without waiting (a WebDriver session runs one script at a
  // time): → { wait(ms) } resolving with its value. Loops in several pages run at once.
  page.start = async (fn, arg) => {
    const key = `job${++jobCount}`;
    await page.evaluate(([src, a, k]) => {
      const jobs = (window.__engineJobs ||= {});
      jobs[k] = { done: false };
      Promise.resolve().then(() => (0, eval)(src)(a)).then((value) => { jobs[k] = { done: true, value }; },
        (e) => { jobs[k] = { done: true, error: String((e && e.message) || e) }; });
      return true;
    }, [`(${fn})`, arg ?? null, key]);
    return {
      wait: async (ms = 120000) => {
        const job = await page.waitFor((k) => window.__engineJobs[k].done && window.__engineJobs[k], key, ms);
        if (job.error) throw new Error(`in page: ${job.error}`);
        return job.value;
      },
    };
  };
  return page;
}

// ---------------------------------------------------------------- Chromium (playwright-core over CDP)

async function launchChromium({ profile }) {
  const { chromium } = await import('playwright-core');
  const child = spawn(CHROMIUM, ['--headless=new', '--remote-debugging-port=0', `--user-data-dir=${profile}`, ...CHROMIUM_ARGS, 'about:blank'],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const ws = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chromium: no DevTools endpoint: ${stderr.slice(-500)}`)), 30000);
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`chromium exited ${code}: ${stderr.slice(-500)}`)); });
  });
  child.stderr.resume();
  const raw = await chromium.connectOverCDP(ws);
  const context = raw.contexts()[0];
  const wrapPage = (p) => {
    const page = pageBase({ raw: p });
    p.on('pageerror', (e) => page.errors.push(e.message));
    page.goto = (url) => p.goto(url).then(() => {});
    page.reload = () => p.reload().then(() => {});
    page.close = () => p.close();
    page.bringToFront = () => p.bringToFront();
    page.evaluate = async (fn, arg) => unwrap(await p.evaluate(
      ([src, a]) => Promise.resolve().then(() => (0, eval)(src)(a)).then((value) => ({ value }), (e) => ({ error: e && e.message ? `${e.name}: ${e.message}\n${e.stack}` : String(e) })),
      [wrap(fn), arg]));
    return page;
  };
  for (const p of context.pages()) await p.close();
  return {
    engine: 'chromium', raw, context, child,
    can: { offline: true, kill: true, persistentProfile: true },
    async newPage(url) { const page = wrapPage(await context.newPage()); if (url) await page.goto(url); return page; },
    setOffline: (offline) => context.setOffline(offline),
    async close() {
      if (child.exitCode !== null) return;
      try { const s = await raw.newBrowserCDPSession(); await s.send('Browser.close'); } catch { /* closing */ }
      await Promise.race([exited(child), new Promise((r) => setTimeout(r, 10000))]);
      await killGroup(child);
    },
    kill: () => killGroup(child),
  };
}

// ---------------------------------------------------------------- Firefox (puppeteer-core over WebDriver BiDi)

async function launchFirefox({ profile }) {
  const { default: puppeteer } = await import('puppeteer-core');
  const raw = await puppeteer.launch({
    browser: 'firefox', protocol: 'webDriverBiDi', executablePath: FIREFOX, userDataDir: profile, headless: true,
    extraPrefsFirefox: { 'dom.serviceWorkers.testing.enabled': true, 'browser.sessionstore.resume_from_crash': false },
  });
  const child = raw.process();
  const open = new Set();
  let offline = false;
  const wrapPage = (p) => {
    const page = pageBase({ raw: p });
    open.add(p);
    p.once('close', () => open.delete(p));
    p.on('pageerror', (e) => page.errors.push(e.message));
    page.goto = (url) => p.goto(url, { waitUntil: 'load' }).then(() => {});
    page.reload = () => p.reload({ waitUntil: 'load' }).then(() => {});
    page.close = () => p.close();
    page.bringToFront = () => p.bringToFront();
    page.evaluate = async (fn, arg) => unwrap(await p.evaluate(
      (src, a) => Promise.resolve().then(() => (0, eval)(src)(a)).then((value) => ({ value }), (e) => ({ error: e && e.message ? `${e.name}: ${e.message}\n${e.stack}` : String(e) })),
      wrap(fn), arg));
    return page;
  };
  return {
    engine: 'firefox', raw, child,
    can: { offline: true, kill: true, persistentProfile: true },
    async newPage(url) {
      const page = wrapPage(await raw.newPage());
      if (offline) await page.raw.setOfflineMode(true);
      if (url) await page.goto(url);
      return page;
    },
    // BiDi network emulation is per page (the pages' own online/offline events fire);
    // a service worker keeps its network.
    async setOffline(value) { offline = value; for (const p of open) await p.setOfflineMode(value); },
    async close() { if (child.exitCode === null) await raw.close().catch(() => {}); await exited(child); },
    kill: () => killGroup(child),
  };
}

// ---------------------------------------------------------------- WebKit (selenium-webdriver, WebKitWebDriver, xvfb-run)

// A free X display searched from a random number: runs started at once (this machine is
// shared) do not race for the same one.
export const xvfbArgs = () => ['-a', '-n', String(100 + Math.floor(Math.random() * 3000)), '-s', '-screen 0 1280x1024x24'];

async function launchWebkit() {
  const { Builder } = await import('selenium-webdriver');
  const port = await freePort();
  const child = spawn('xvfb-run', [...xvfbArgs(), WEBKIT_DRIVER, `--port=${port}`],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SE_OFFLINE: 'true' } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
  const server = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`WebKitWebDriver exited ${child.exitCode}: ${stderr}`);
    return fetch(`${server}/status`).then((r) => r.ok, () => false);
  }, 30000, 'WebKitWebDriver to listen');
  const driver = await new Builder().usingServer(server)
    .withCapabilities({ browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } }).build();
  await driver.manage().setTimeouts({ script: 600000, pageLoad: 60000 });
  // WebDriver has one current window: every command on a page switches to it first, in turn.
  let queue = Promise.resolve();
  const serial = (fn) => { const run = queue.then(fn); queue = run.catch(() => {}); return run; };
  let current = await driver.getWindowHandle();
  const on = (handle, fn) => serial(async () => {
    if (current !== handle) { await driver.switchTo().window(handle); current = handle; }
    return fn();
  });
  let first = current;
  const wrapPage = (handle) => {
    const page = pageBase({ raw: driver, handle });
    page.goto = (url) => on(handle, () => driver.get(url));
    page.reload = () => on(handle, () => driver.navigate().refresh());
    // Closing the last window would end the session: keep it, blank, for the next newPage.
    page.close = () => on(handle, async () => {
      if ((await driver.getAllWindowHandles()).length === 1) { await driver.get('about:blank'); first = handle; return; }
      await driver.close();
      current = (await driver.getAllWindowHandles())[0];
      await driver.switchTo().window(current);
    });
    page.bringToFront = () => on(handle, () => driver.switchTo().window(handle));
    page.evaluate = async (fn, arg) => unwrap(await on(handle, () => driver.executeAsyncScript(
      `const done = arguments[arguments.length - 1];
       Promise.resolve().then(() => ${wrap(fn)}(arguments[0]))
         .then((value) => done({ value: value === undefined ? null : value }), (e) => done({ error: e && e.message ? e.name + ': ' + e.message + '\\n' + e.stack : String(e) }));`, arg ?? null)));
    return page;
  };
  return {
    engine: 'webkit', raw: driver, child,
    can: { offline: false, kill: true, persistentProfile: false },
    async newPage(url) {
      let handle;
      if (first) { handle = first; first = null; } else {
        handle = await serial(async () => {
          await driver.switchTo().newWindow('tab');
          current = await driver.getWindowHandle();
          return current;
        });
      }
      const page = wrapPage(handle);
      if (url) await page.goto(url);
      return page;
    },
    setOffline: () => { throw new Error('webkit: WebDriver has no network emulation'); },
    async close() {
      await serial(() => driver.quit()).catch(() => {});
      await Promise.race([exited(child), new Promise((r) => setTimeout(r, 5000))]);
      await killGroup(child);
    },
    kill: () => killGroup(child),
  };
}

// options: { profile (a directory), origin (the test server, for the bridge),
//            persistent (WebKit only: a browser that keeps its data in profile, via bridge.mjs) }
export async function launch(engine, options = {}) {
  let browser;
  if (engine === 'chromium') browser = await launchChromium(options);
  else if (engine === 'firefox') browser = await launchFirefox(options);
  else if (engine === 'webkit' && options.persistent) {
    browser = await launchBridged({ engine, origin: options.origin, profile: options.profile,
      command: ['xvfb-run', ...xvfbArgs(), MINIBROWSER] });
  } else if (engine === 'webkit') browser = await launchWebkit(options);
  else throw new Error(`unknown engine '${engine}'`);
  const newPage = browser.newPage;
  browser.newPage = async (url) => {
    const page = await newPage(undefined);
    if (!page.waitFor) pageBase(page);
    if (url) await page.goto(url);
    return page;
  };
  return browser;
}
