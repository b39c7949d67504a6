// fault-proxy.mjs — a small HTTP proxy on 127.0.0.1 between the browsers and the reference
// server, for faults.mjs. Everything is forwarded (pages, tokens, the event stream); on
// `/sync/push` and `/sync/pull` it misbehaves at random from a seeded PRNG: drops the answer
// after the server applied the request, delays it, sends the request to the server twice,
// truncates the answer, or answers 500 / 429 (Retry-After: 1) without forwarding. heal() turns
// it into a plain proxy. `log` counts what it did, so a run can say which faults it met.
import { createServer, request as httpRequest } from 'node:http';

export const FAULTS = ['drop', 'delay', 'duplicate', 'truncate', '500', '429'];

// rnd: () => [0, 1); rate: the share of sync requests that meet a fault.
export async function startFaultProxy(target, { rnd, rate = 0.35 } = {}) {
  const t = new URL(target);
  const proxy = { faulty: true, log: Object.fromEntries([...FAULTS, 'pass'].map((f) => [f, 0])) };

  function forward(req, body) {
    return new Promise((resolve, reject) => {
      const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url,
                               headers: { ...req.headers, host: t.host } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      up.on('error', reject);
      up.end(body);
    });
  }

  function stream(req, res) {   // the event stream and anything long-lived: piped through untouched
    const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url,
                             headers: { ...req.headers, host: t.host } }, (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
    up.on('error', () => res.destroy());
    req.pipe(up);
    res.on('close', () => up.destroy());
  }

  const reply = (res, a, body = a.body) => {
    const headers = { ...a.headers, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    res.writeHead(a.status, headers);
    res.end(body);
  };

  const server = createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/sync/events') return stream(req, res);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const isSync = path === '/sync/push' || path === '/sync/pull';
      const fault = proxy.faulty && isSync && rnd() < rate ? FAULTS[Math.floor(rnd() * FAULTS.length)] : 'pass';
      if (isSync) proxy.log[fault]++;
      try {
        if (fault === '500') return reply(res, { status: 500, headers: { 'content-type': 'application/json' } }, Buffer.from('{"error":"proxy: injected 500"}'));
        if (fault === '429') return reply(res, { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '1' } }, Buffer.from('{"error":"proxy: injected 429"}'));
        const a = await forward(req, body);
        if (fault === 'drop') return res.socket.destroy();                 // applied upstream, the answer lost
        if (fault === 'duplicate') await forward(req, body);               // the server sees the request twice
        if (fault === 'delay') await new Promise((r) => setTimeout(r, 50 + Math.floor(rnd() * 400)));
        if (fault === 'truncate') {
          res.writeHead(a.status, { ...a.headers, 'content-length': String(a.body.length) });
          res.write(a.body.subarray(0, Math.floor(a.body.length / 2)));
          return setTimeout(() => res.socket.destroy(), 10);
        }
        return reply(res, a);
      } catch (e) {
        res.writeHead(502, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: `proxy: ${e.message}` }));
      }
    });
    return undefined;
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  proxy.heal = () => { proxy.faulty = false; };
  proxy.stop = () => new Promise((r) => { server.closeAllConnections(); server.close(r); });
  return proxy;
}
