// app.js — the demo farm's page: opens this window's device store, hands it to the two
// syncore UI parts in the header, registers the service worker (app shell + Background
// Sync), and routes between the four sections (#flocks, #production, #health, #import),
// re-rendering the open one whenever the store changes, whoever changed it.
import { openStore } from '../js-glue/syncore.js';
import '../js-glue/ui/index.js';
import { DEVICES, deviceFromLocation, storeOptions } from './config.js';
import { LABELS, recordTitle, formatValue, setFlockNames } from './labels.js';
import { renderFlocks, renderProduction, renderHealth } from './views.js';
import { renderImport } from './importer.js';

const $ = (id) => document.getElementById(id);
const device = deviceFromLocation(location);
const other = device === 'a' ? 'b' : 'a';
const SECTIONS = { flocks: renderFlocks, production: renderProduction, health: renderHealth, import: renderImport };

document.title = `${DEVICES[device]} · EGGlogU — syncore demo farm`;
$('device').textContent = DEVICES[device];
$('device').href = `./?device=${other}`;
$('device').title = `Open ${DEVICES[other]} in a new window`;
$('other-device').href = `./?device=${other}`;
$('other-device').textContent = DEVICES[other];
$('zone').textContent = `Times are shown in your time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}) and stored in UTC.`;
document.documentElement.dataset.device = device;

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js', { type: 'module', scope: './' })
    .catch((e) => console.warn('service worker not registered:', e.message));
}

const store = await openStore(storeOptions(device));
window.store = store;   // for poking around in devtools

for (const id of ['status', 'conflicts']) {
  const el = $(id);
  el.labels = LABELS;
  el.recordTitle = recordTitle;
  el.formatValue = formatValue;
  el.store = store;
}
const conflictsEl = $('conflicts');
const app = { store, device, showHistory: (collection, id) => conflictsEl.showArchive(collection, id), rerender: () => schedule() };

function section() {
  const name = location.hash.slice(1);
  return SECTIONS[name] ? name : 'flocks';
}

let rendering = null, again = false;
async function render() {
  if (rendering) { again = true; return rendering; }
  rendering = (async () => {
    const flocks = await store.list('flocks', { orderBy: 'name' });
    setFlockNames(flocks);
    const farm = await store.get('farm', 'farm');
    $('farm-name').textContent = (farm && farm.name) || 'Demo farm';
    const name = section();
    for (const a of document.querySelectorAll('.tabs a')) {
      if (a.hash === `#${name}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    const view = await SECTIONS[name](app, flocks);
    if (view) $('main').replaceChildren(view);
  })();
  try { await rendering; } finally {
    rendering = null;
    if (again) { again = false; schedule(); }
  }
}

let queued = false;
function schedule() {
  if (queued) return;
  queued = true;
  queueMicrotask(() => { queued = false; render().catch((e) => console.error(e)); });
}

store.on('change', schedule);
addEventListener('hashchange', () => { schedule(); $('main').focus({ preventScroll: true }); });
await render();
document.body.dataset.ready = 'true';
