// transport.js — the default HTTP transport of the SPEC §4 wire protocol.
//
// A transport moves bodies; it decides nothing. push(body) and pull({cursor, limit})
// resolve with the 200 body — this one with its text exactly as received, so the core
// judges what the server sent (a repeated key JSON.parse would quietly collapse, an
// answer cut short); other transports may resolve with the parsed object — or throw an
// Error carrying `status` (0 for a network failure or a timeout) and `retryAfter`
// (seconds, or 0).
// events(onPoke) opens the Server-Sent Events stream and returns a stop function.
// What to do with a failure (retry schedule, 410 resync) is the core's business.
// Adapters for other backends (seed 000's REST, seed 001's delta endpoint) implement
// the same three functions; see docs/API.md.

const DEFAULT_TIMEOUT_MS = 30000;

export function transportError(message, status, retryAfter, cause) {
  const err = new Error(message, cause ? { cause } : undefined);
  err.status = status;
  err.retryAfter = retryAfter;
  return err;
}

export function parseRetryAfter(value) {
  if (!value) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : 0;
}

// The token, the 401 retry and the timeout, for this transport and the adapters
// (js-glue/adapters/): remote = { token?: string | async () => jwt, timeoutMs?, fetch? }.
// send(url, init) → the Response of any status; a network failure or timeout throws with status 0.
export function createAuthorizedFetch(remote) {
  const doFetch = remote.fetch || globalThis.fetch.bind(globalThis);
  const timeoutMs = remote.timeoutMs || DEFAULT_TIMEOUT_MS;
  let cachedToken = null;

  async function token(refresh) {
    if (!remote.token) return null;
    if (typeof remote.token !== 'function') return String(remote.token);   // a fixed token
    if (refresh || cachedToken === null) cachedToken = await remote.token();
    return cachedToken;
  }

  async function once(url, init, refresh) {
    const headers = { ...(init.headers || {}) };
    const jwt = await token(refresh);
    if (jwt) headers.Authorization = `Bearer ${jwt}`;
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    try {
      return await doFetch(url, { ...init, headers, signal: ctrl.signal });
    } catch (e) {
      throw transportError(`network error on ${url}: ${e.message}`, 0, 0, e);
    } finally {
      clearTimeout(timer);
    }
  }

  async function send(url, init) {
    const res = await once(url, init, false);
    if (res.status === 401 && remote.token) return once(url, init, true);  // SPEC §3: ask token() again, retry once
    return res;
  }
  send.token = token;
  return send;
}

// remote = { url, token?: async () => jwt, timeoutMs?, fetch? }
export function createHttpTransport(remote) {
  const base = String(remote.url).replace(/\/+$/, '');
  const send = createAuthorizedFetch(remote);
  const token = send.token;

  async function request(path, init) {
    const res = await send(base + path, init);
    let text;
    try {
      text = await res.text();
    } catch (e) {
      throw transportError(`truncated answer on ${path}: ${e.message}`, 0, 0, e);
    }
    if (res.status !== 200) {
      let message = `HTTP ${res.status} on ${path}`;
      try { const body = JSON.parse(text); if (body && body.error) message += `: ${body.error}`; } catch { /* not JSON */ }
      throw transportError(message, res.status, parseRetryAfter(res.headers.get('Retry-After')));
    }
    // Not parsed here: the core reads it (a push answer cut short is a failed attempt,
    // retried with the same op_ids).
    return text;
  }

  return {
    push(body) {
      return request('/push', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    },
    pull({ cursor, limit }) {
      const q = new URLSearchParams({ cursor: cursor || '', limit: String(limit) });
      return request(`/pull?${q}`, { method: 'GET' });
    },
    // EventSource cannot send headers: the token travels as access_token (SPEC §11).
    // Service workers have no EventSource; there the interval and Background Sync remain.
    // Never opened without its token: when token() fails, or the server refuses the stream
    // (an expired token after a reconnect: the browser then gives up for good), it asks for
    // a fresh token and opens it again after 1 s, 2 s, … up to a minute.
    events(onPoke, onState) {
      if (typeof EventSource === 'undefined') return () => {};
      let source = null, timer = null, stopped = false, delay = 1000, refresh = false;
      const retry = () => {
        if (stopped) return;
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 60000);
      };
      async function open() {
        let jwt = null;
        try { jwt = await token(refresh); } catch {   // down until it opens: then a catch-up sync
          if (stopped) return;
          if (onState) onState(false);
          retry();
          return;
        }
        if (stopped) return;
        const q = jwt ? `?access_token=${encodeURIComponent(jwt)}` : '';
        const es = source = new EventSource(`${base}/events${q}`);
        es.addEventListener('poke', () => onPoke());
        es.onopen = () => { delay = 1000; refresh = false; if (onState) onState(true); };
        es.onerror = () => {
          if (onState) onState(false);
          if (es.readyState !== EventSource.CLOSED || stopped) return;   // the browser reconnects by itself
          source = null;
          refresh = true;
          retry();
        };
      }
      open();
      return () => { stopped = true; clearTimeout(timer); if (source) source.close(); };
    },
  };
}
