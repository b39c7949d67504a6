// http.mjs — the plumbing both stand-in backends (egglogu-delta.mjs, feedings-rest.mjs) share:
// a JSON answer, an answer cut after the write, and a node `http` server on a random
// 127.0.0.1 port that allows any origin (CORS preflight included), records every request
// (method, url, body) in `requests` and hands the whole body to the backend's `handle`;
// a handler that throws (or rejects) is a 500 with `failBody(error)`.
import { createServer } from 'node:http';

export function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

// The answer is lost after the write: headers and half a body, then the connection drops
// (a browser silently resends a request whose connection died before any byte came back).
export function cutAnswer(res) {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '4096' });
  res.write('{"success": tr');
  setTimeout(() => res.socket.destroy(), 20);
  return undefined;
}

// Listen; resolves to { port, stop() }.
export async function serveJson({ handle, requests, methods, exposeHeaders = null, failBody }) {
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (exposeHeaders) res.setHeader('Access-Control-Expose-Headers', exposeHeaders);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Methods': methods, 'Access-Control-Allow-Headers': 'Authorization, Content-Type' });
      return res.end();
    }
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method, url: req.url, body });
      Promise.resolve().then(() => handle(req, res, body)).catch((e) => send(res, 500, failBody(e)));
    });
    return undefined;
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port,
           stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}
