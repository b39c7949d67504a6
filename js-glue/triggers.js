// triggers.js — when a store syncs by itself (sync.auto), SPEC §3 "Triggers".
//
// Sources: store open, every local write (coalesced into one sync), the online edge
// (trailing debounce, only after a real offline→online transition), the interval while
// online, a server poke over SSE, the event stream coming back after it failed (catch-up:
// pokes were lost meanwhile), the retry timer the core asks for (nextWakeAt), and
// visibilitychange back to visible. Everything an online edge sets off — the edge itself,
// the stream's reconnect, a poke the server sends while the network settles — shares the
// one trailing debounce (reconnectDebounceMs): a flapping network syncs once. Never two syncs at once is the caller's promise
// sharing (syncore.js); this file only decides *when* to call requestSync().
// Background Sync and periodicsync live in sw.js.

const WRITE_COALESCE_MS = 25;

function globalScope() {
  return typeof self !== 'undefined' ? self : globalThis;
}

// opts = { requestSync(reason), nextWakeAt(): Promise<ms|null>, transport, sync: {reconnectDebounceMs, intervalMs},
//          onOnlineChange(online) }
export function createTriggers(opts) {
  const scope = globalScope();
  const nav = scope.navigator;
  let online = nav && typeof nav.onLine === 'boolean' ? nav.onLine : true;
  let wasOffline = !online;          // a store opened offline has seen a real edge once online
  let streamDown = false;            // the event stream failed since it last opened
  const timers = { write: 0, edge: 0, interval: 0, wake: 0 };
  let stopEvents = () => {};
  let stopped = false;

  const fire = (reason) => { if (!stopped) opts.requestSync(reason); };

  function clear(name) {
    if (timers[name]) { clearTimeout(timers[name]); clearInterval(timers[name]); timers[name] = 0; }
  }

  function startInterval() {
    clear('interval');
    const ms = opts.sync.intervalMs;
    if (ms > 0 && online) timers.interval = setInterval(() => fire('interval'), ms);
  }

  function onOffline() {
    online = false;
    wasOffline = true;
    clear('edge');
    clear('interval');
    opts.onOnlineChange(false);
  }

  // The one trailing debounce: each trigger inside the window moves its end; one sync.
  function debounce(reason) {
    clear('edge');
    timers.edge = setTimeout(() => { timers.edge = 0; if (online) fire(reason); }, opts.sync.reconnectDebounceMs);
  }

  function onOnline() {
    online = true;
    opts.onOnlineChange(true);
    startInterval();
    if (!wasOffline) return;         // no real transition: no sync storm on spurious events
    wasOffline = false;
    debounce('online');
  }

  function onPoke() {
    if (timers.edge) return;         // the debounced sync pulls what the poke announced
    fire('poke');
  }

  // SSE open/error: a stream back after failing missed pokes meanwhile — catch up, debounced.
  function onStream(up) {
    if (!up) { streamDown = true; return; }
    if (!streamDown) return;         // the first open: store open already syncs
    streamDown = false;
    debounce('reconnect');
  }

  function onVisibility() {
    if (scope.document && scope.document.visibilityState === 'visible' && online) fire('visible');
  }

  if (scope.addEventListener) {
    scope.addEventListener('online', onOnline);
    scope.addEventListener('offline', onOffline);
    if (scope.document) scope.document.addEventListener('visibilitychange', onVisibility);
  }
  if (opts.transport && opts.transport.events) {
    stopEvents = opts.transport.events(onPoke, (up) => { if (!stopped) onStream(up); });
  }
  startInterval();
  if (online) fire('open');

  return {
    isOnline: () => online,
    // A local write: coalesce a burst of writes into one sync.
    onWrite() {
      if (stopped || timers.write) return;
      timers.write = setTimeout(() => { timers.write = 0; if (online) fire('write'); }, WRITE_COALESCE_MS);
    },
    // After each sync: arm the timer for the earliest op waiting out a backoff.
    async rearm() {
      clear('wake');
      if (stopped) return;
      const at = await opts.nextWakeAt();
      if (at === null || stopped) return;
      const delay = Math.max(0, Math.min(at - Date.now(), 0x7fffffff));
      timers.wake = setTimeout(() => { timers.wake = 0; if (online) fire('retry'); }, delay);
    },
    stop() {
      stopped = true;
      for (const name of Object.keys(timers)) clear(name);
      stopEvents();
      if (scope.removeEventListener) {
        scope.removeEventListener('online', onOnline);
        scope.removeEventListener('offline', onOffline);
        if (scope.document) scope.document.removeEventListener('visibilitychange', onVisibility);
      }
    },
  };
}
