// bridge.mjs — drives a browser started as a plain process, without WebDriver, through
// bridge.html: the page long-polls a tiny HTTP server here for commands and posts the
// answers. launch.mjs uses it where a WebDriver session cannot keep a profile: WebKitGTK's
// MiniBrowser in automation mode keeps its data in memory only, so the restart and kill
// tests run MiniBrowser as a user does, with its data directory in the test's profile
// (XDG_DATA_HOME), and SIGKILL it for real. Pages are same-origin iframes of the bridge.
//   const b = await launchBridged({ engine, origin, profile, command: [bin, ...args] })
//   b.newPage(url) / page.evaluate(fn, arg) / page.goto / page.reload / page.close
//   b.close() (SIGTERM, then SIGKILL after 5 s) and b.kill() (SIGKILL), on the process group
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export async function launchBridged({ engine, origin, profile, command, env = {} }) {
  const queue = [], waiting = [], pending = new Map();
  let next = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/answer') {
        const a = JSON.parse(body);
        const p = pending.get(a.id);
        if (p) { pending.delete(a.id); if ('error' in a) p.reject(new Error(`in page: ${a.error}`)); else p.resolve(a.value); }
        res.end('null');
      } else if (req.url === '/next') {
        if (queue.length) { res.end(JSON.stringify(queue.shift())); return; }
        const timer = setTimeout(() => { waiting.splice(waiting.indexOf(res), 1); res.end('null'); }, 20000);
        res.timer = timer;
        waiting.push(res);
      } else res.writeHead(404).end('null');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const rpcUrl = `http://127.0.0.1:${server.address().port}`;
  const send = (cmd) => new Promise((resolve, reject) => {
    cmd.id = ++next;
    pending.set(cmd.id, { resolve, reject });
    const res = waiting.shift();
    if (res) { clearTimeout(res.timer); res.end(JSON.stringify(cmd)); } else queue.push(cmd);
  });

  for (const d of ['data', 'cache', 'config']) mkdirSync(join(profile, d), { recursive: true });
  const [bin, ...args] = command;
  const child = spawn(bin, [...args, `${origin}/tests/engines/bridge.html?rpc=${encodeURIComponent(rpcUrl)}`], {
    detached: true, stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HOME: profile, XDG_DATA_HOME: join(profile, 'data'), XDG_CACHE_HOME: join(profile, 'cache'),
           XDG_CONFIG_HOME: join(profile, 'config'), ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
  const gone = new Promise((r) => child.once('exit', r));
  const stop = async (signal) => {
    try { process.kill(-child.pid, signal); } catch { /* gone */ }
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    await gone;
    for (const res of waiting.splice(0)) { clearTimeout(res.timer); res.end('null'); }
    for (const p of pending.values()) p.reject(new Error(`${engine}: the browser went away`));
    pending.clear();
    server.closeAllConnections();
    server.close();
  };
  const first = await Promise.race([send({ op: 'newPage' }),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${engine}: the bridge page never called (${stderr})`)), 30000))]);
  let spare = first;
  return {
    engine, child, raw: null,
    can: { offline: false, kill: true, persistentProfile: true },
    async newPage(url) {
      const id = spare ?? await send({ op: 'newPage' });
      spare = null;
      const page = {
        raw: null, errors: [],
        goto: (u) => send({ op: 'goto', page: id, url: u }),
        reload: () => send({ op: 'reload', page: id }),
        close: () => send({ op: 'close', page: id }),
        bringToFront: async () => {},
        evaluate: (fn, arg) => send({ op: 'evaluate', page: id, src: `(${fn})`, arg: arg ?? null }),
      };
      if (url) await page.goto(url);
      return page;
    },
    setOffline: () => { throw new Error(`${engine}: no network emulation without a driver`); },
    close: () => stop('SIGTERM'),
    kill: () => stop('SIGKILL'),
  };
}
