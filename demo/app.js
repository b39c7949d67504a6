// The demo page: a small farm log over syncore (window context), with the service
// worker doing Background Sync while the page is closed.
import { openStore } from '../js-glue/syncore.js';
import { storeOptions } from './config.js';

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));

if ('serviceWorker' in navigator) navigator.serviceWorker.register('./sw.js', { type: 'module' }).catch(console.warn);

const store = await openStore(storeOptions);
window.store = store;   // for poking around in devtools

async function render() {
  const s = store.status();
  $('status').className = s.online ? '' : 'offline';
  $('status').textContent = `${s.online ? 'online' : 'offline'}${s.syncing ? ', syncing' : ''} · ${s.pending} pending · ` +
    `${s.failed} failed · ${s.conflicts} conflicts · last sync ${s.lastSyncAt || 'never'}${s.lastError ? ` · ${s.lastError}` : ''}`;
  const flocks = await store.list('flocks', { orderBy: 'name' });
  $('flocks').innerHTML = flocks.map((f) => `<li>${esc(f.name)} — ${esc(f.hens ?? '?')} hens
    <button data-more="${esc(f.id)}">+1 hen</button><button data-del="${esc(f.id)}">delete</button></li>`).join('');
  $('flockSel').innerHTML = flocks.map((f) => `<option value="${esc(f.id)}">${esc(f.name)}</option>`).join('');
  const logs = await store.list('logs', { orderBy: 'at', desc: true, limit: 20 });
  const names = Object.fromEntries(flocks.map((f) => [f.id, f.name]));
  $('logs').innerHTML = logs.map((l) => `<li>${esc(l.at)} ${esc(names[l.flockId] || l.flockId)}: ${esc(l.eggs)} eggs
    <button data-egg="${esc(l.id)}">+1 egg</button></li>`).join('');
  const conflicts = await store.conflicts();
  $('conflicts').innerHTML = conflicts.length ? conflicts.map((c) => `<div class="conflict">${esc(c.collection)}/${esc(c.recordId)}
    (${esc(c.kind)}, fields: ${esc(c.fields.join(', '))})<pre>mine:   ${esc(JSON.stringify(c.local))}\ntheirs: ${esc(JSON.stringify(c.remote))}</pre>
    <button data-res="${esc(c.id)}" data-choice="mine">Keep mine</button><button data-res="${esc(c.id)}" data-choice="theirs">Keep theirs</button></div>`).join('') : 'none';
  const ops = await store.outbox();
  $('outbox').innerHTML = ops.map((o) => `<li>${esc(o.kind)} ${esc(o.collection)}/${esc(o.recordId)}: ${esc(o.status)}
    (${o.attempts} attempts${o.lastError ? `, ${esc(o.lastError)}` : ''})</li>`).join('');
}

$('add').onsubmit = async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  await store.put('flocks', { name: f.get('name'), hens: Number(f.get('hens') || 0), updated: Date.now() });
  e.target.reset();
};
$('log').onsubmit = async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  await store.put('logs', { flockId: f.get('flockId'), eggs: Number(f.get('eggs')), at: Date.now() });
};
$('sync').onclick = () => store.sync().then(render);
document.body.addEventListener('click', async (e) => {
  const d = e.target.dataset;
  if (d.more) { const f = await store.get('flocks', d.more); await store.patch('flocks', d.more, { hens: (f.hens || 0) + 1, updated: Date.now() }); }
  if (d.del) await store.delete('flocks', d.del);
  if (d.egg) { const l = await store.get('logs', d.egg); await store.patch('logs', d.egg, { eggs: l.eggs + 1 }); }
  if (d.res) await store.resolve(d.res, d.choice);
});
for (const ev of ['change', 'status', 'conflict']) store.on(ev, () => render());
render();
