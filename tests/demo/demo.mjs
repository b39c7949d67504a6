// demo.mjs — the demo farm clicked through as a person would, each device its own browser
// context (profile, storage, network): create offline and watch the pending count drop to
// zero online, reload offline, an edit-vs-edit conflict resolved with Keep mine, Keep
// theirs and a per-field Merge, delete-vs-edit, production rows merging by field, the
// health log's history of a silently overwritten edit, a legacy import. Every step leaves
// a screenshot in build/test/demo/. Times are typed and read in America/Sao_Paulo (UTC-3).
import { check, same, PHONE } from './lib.mjs';

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
export { tests as demoTests };

const status = (page) => page.locator('syncore-status [part="text"]');
const indicator = (page) => page.locator('syncore-status [part="indicator"]');
const badge = (page) => page.locator('syncore-conflicts [part="badge"]');
const dialog = (page) => page.locator('syncore-conflicts dialog');
const editor = (page) => page.locator('#editor');
const card = (page, name) => page.locator('article.flock').filter({ has: page.getByRole('heading', { name, exact: true }) });
const pending = (page) => page.evaluate(() => window.store.status().pending);

async function open(device, path) {
  const page = await device.context.newPage();
  await page.goto(`${device.world.server.base}${path}`);
  await page.waitForSelector('body[data-ready]', { timeout: 20000 });
  return page;
}

// First visit: wait until the service worker controls the page, i.e. the shell is cached.
async function openFirst(device, path) {
  const page = await open(device, path);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20000 });
  return page;
}

async function synced(page) {
  await page.waitForFunction(() => { const s = window.store.status(); return s.pending === 0 && !s.syncing && s.lastSyncAt; },
    null, { timeout: 20000 });
  await status(page).filter({ hasText: 'All changes synced' }).waitFor();
}

async function fillEditor(page, fields) {
  for (const [name, value] of Object.entries(fields)) {
    const el = editor(page).locator(`[name="${name}"]`);
    if ((await el.evaluate((e) => e.tagName)) === 'SELECT') await el.selectOption({ label: value });
    else await el.fill(String(value));
  }
}

async function addFlock(page, fields) {
  await page.getByRole('button', { name: 'Add flock' }).first().click();
  await fillEditor(page, fields);
  await editor(page).getByRole('button', { name: 'Add flock' }).click();
  await card(page, fields.name).waitFor();
}

async function editFlock(page, name, fields) {
  await card(page, name).getByRole('button', { name: `Edit ${name}` }).click();
  await fillEditor(page, fields);
  await editor(page).getByRole('button', { name: 'Save changes' }).click();
  await editor(page).waitFor({ state: 'hidden' });
}

const hensOf = (page, name) => card(page, name).locator('.hens strong').textContent();

// Device A (desktop) and B (phone) share one flock; B goes offline, both edit, B comes back.
async function conflictOnB(world, name, editA, editB, { bOnDesktop = false } = {}) {
  const A = await world.device('A', bOnDesktop ? { viewport: PHONE } : {});
  const B = await world.device('B', bOnDesktop ? {} : { viewport: PHONE });
  const pa = await open(A, '/demo/'), pb = await open(B, '/demo/?device=b');
  await addFlock(pa, { name, hens: 200, breed: 'ISA Brown' });
  await synced(pa);
  await card(pb, name).waitFor({ timeout: 20000 });          // B pulls it when the server pokes
  await B.setOffline(true);
  await indicator(pb).filter({ hasText: 'Offline' }).waitFor();
  if (editB) await editFlock(pb, name, editB);
  // A's edit is written after the click returns: wait for a sync that ended after it, or
  // synced(pa) could pass on the state before it and A's change would travel after B's.
  const before = await pa.evaluate(() => window.store.status().lastSyncAt);
  if (editA) await editFlock(pa, name, editA); else await card(pa, name).getByRole('button', { name: `Delete ${name}` }).click();
  await pa.waitForFunction((b) => { const s = window.store.status(); return s.pending === 0 && !s.syncing && s.lastSyncAt > b; },
    before, { timeout: 20000 });
  await synced(pa);
  await B.setOffline(false);
  await badge(pb).waitFor({ timeout: 20000 });
  same(await badge(pb).textContent(), '1Conflict', 'the badge counts one conflict');
  same(await badge(pb).getAttribute('aria-label'), '1 sync conflict to review', 'the badge says what it is');
  return { A, B, pa, pb };
}

test('create offline, go online: the pending count drops to zero; ?device=b is a second store', async (world) => {
  const A = await world.device('A');
  const pa = await openFirst(A, '/demo/');
  await synced(pa);
  await world.shot(pa, 'first-visit');
  await A.setOffline(true);
  await indicator(pa).filter({ hasText: 'Offline' }).waitFor();
  await addFlock(pa, { name: 'Hen house 7', hens: 250, breed: 'Hy-Line Brown', house: 'Shed 7' });
  await pa.getByRole('link', { name: 'Production' }).click();
  await pa.getByRole('button', { name: 'Log production' }).click();
  await fillEditor(pa, { flockId: 'Hen house 7', date: '2026-11-30T06:30', eggs: 231, broken: 3, feedKg: 28.5, notes: 'Morning round' });
  await world.shot(pa, 'offline-log-production');
  await editor(pa).getByRole('button', { name: 'Add production entry' }).click();
  const row = pa.locator('table.log tbody tr').filter({ hasText: 'Morning round' });
  await row.waitFor();
  check((await row.textContent()).includes('30 Nov 2026, 06:30'), `shown in the viewer's zone: ${await row.textContent()}`);
  const stored = await pa.evaluate(() => window.store.list('dailyProduction'));
  same(stored.map((r) => r.date), ['2026-11-30T09:30:00.000Z'], 'stored in UTC');
  await status(pa).filter({ hasText: '2 changes saved on this device' }).waitFor();
  same(await pending(pa), 2, 'two changes pending');
  const tags = await pa.evaluate(async () => (await (await navigator.serviceWorker.ready).sync.getTags()));
  check(tags.includes('syncore:egglogu-demo'), `a Background Sync tag is registered while offline: ${tags}`);
  await world.shot(pa, 'offline-two-changes-waiting');
  // A second window on the same machine, opened offline from the cached shell: another device.
  const pb = await open(A, '/demo/?device=b');
  await pb.locator('#device').filter({ hasText: 'Device B' }).waitFor();
  same(await card(pb, 'Hen house 7').count(), 0, 'device B has its own store: A\'s unsynced flock is not there');
  await A.setOffline(false);
  await synced(pa);
  same(await pending(pa), 0, 'pending dropped to zero');
  await world.shot(pa, 'online-all-synced');
  await card(pb, 'Hen house 7').waitFor({ timeout: 20000 });
  await world.shot(pb, 'device-b-got-it');
});

test('Background Sync: a flock added offline reaches the other device with its page closed', async (world) => {
  const A = await world.device('A');
  const pa = await openFirst(A, '/demo/');
  await synced(pa);
  await A.setOffline(true);
  await indicator(pa).filter({ hasText: 'Offline' }).waitFor();
  await addFlock(pa, { name: 'Night shift barn', hens: 64 });
  await pa.waitForFunction(async () => (await (await navigator.serviceWorker.ready).sync.getTags()).includes('syncore:egglogu-demo'));
  await pa.close();                                  // no page of device A is left to sync
  await A.setOffline(false);                         // the browser wakes the service worker
  const B = await world.device('B', { viewport: PHONE });
  const pb = await open(B, '/demo/?device=b');
  await card(pb, 'Night shift barn').waitFor({ timeout: 30000 });
  await world.shot(pb, 'background-sync-arrived');
});

test('import legacy data: the sample egglogu_data blob; a malformed paste changes nothing', async (world) => {
  const A = await world.device('A');
  const pa = await open(A, '/demo/#import');
  await pa.getByRole('button', { name: 'Load the sample farm' }).click();
  await pa.getByText(/egglogu_data found: .* 3 flocks, 18 production entries, 3 health entries/).waitFor();
  await pa.getByRole('button', { name: 'Import legacy data' }).click();
  const result = pa.locator('.result');
  await result.waitFor();
  const text = await result.textContent();
  for (const part of ['3 × Flock', '18 × Production entry', '3 × Health entry', '1 × Farm', '2 × Audit entry', 'settings', 'feed']) {
    check(text.includes(part), `the result names ${part}: ${text}`);
  }
  await pa.locator('#farm-name').filter({ hasText: 'Granja Los Álamos' }).waitFor();
  await synced(pa);
  await world.shot(pa, 'legacy-imported');
  const before = await pa.evaluate(() => window.store.count('flocks'));
  await pa.fill('#legacy-paste', '{"flocks": [{"id": "x", "name": "half');
  await pa.getByRole('button', { name: 'Import pasted data' }).click();
  await pa.getByRole('alert').filter({ hasText: 'Not imported' }).waitFor();
  same(await pa.evaluate(() => window.store.count('flocks')), before, 'a malformed blob changed nothing');
  await world.shot(pa, 'legacy-malformed');
  await pa.getByRole('link', { name: 'Flocks' }).click();
  await card(pa, 'North barn').waitFor();
  await world.shot(pa, 'flocks-after-import');
  const B = await world.device('B', { viewport: PHONE });
  const pb = await open(B, '/demo/?device=b');
  await card(pb, 'North barn').waitFor({ timeout: 20000 });
  await world.shot(pb, 'flocks-phone');
});

test('reload offline: the app shell and the data are there, edits included', async (world) => {
  const A = await world.device('A', { viewport: PHONE });
  const pa = await openFirst(A, '/demo/');
  await addFlock(pa, { name: 'Reload barn', hens: 80 });
  await synced(pa);
  await A.setOffline(true);
  await pa.reload();
  await pa.waitForSelector('body[data-ready]');
  await card(pa, 'Reload barn').waitFor();
  await editFlock(pa, 'Reload barn', { hens: 99 });
  await pa.reload();
  await pa.waitForSelector('body[data-ready]');
  same(await hensOf(pa, 'Reload barn'), '99', 'the offline edit survived a reload');
  await status(pa).filter({ hasText: '1 change saved on this device' }).waitFor();
  await world.shot(pa, 'reloaded-offline');
  await A.setOffline(false);
  await synced(pa);
});

test('conflict: Keep mine pushes this device\'s version everywhere', async (world) => {
  const { pa, pb } = await conflictOnB(world, 'Barn K', { hens: 210 }, { hens: 190 });
  await badge(pb).click();
  await dialog(pb).getByRole('heading', { name: 'Flock “Barn K” was changed on two devices' }).waitFor();
  const hens = dialog(pb).locator('tr.diff');
  same(await hens.count(), 1, 'one differing field is marked');
  check((await hens.textContent()).includes('Hens') && (await hens.textContent()).includes('190') && (await hens.textContent()).includes('210'),
    `the Hens row shows both versions: ${await hens.textContent()}`);
  await world.shot(pb, 'conflict-dialog-phone');
  await dialog(pb).getByRole('button', { name: 'Keep mine' }).click();
  await badge(pb).waitFor({ state: 'hidden' });
  await synced(pb);
  same(await hensOf(pb, 'Barn K'), '190', 'B kept its version');
  await card(pa, 'Barn K').locator('.hens strong').filter({ hasText: /^190$/ }).waitFor({ timeout: 20000 });
  await world.shot(pa, 'keep-mine-reached-a');
});

test('conflict: Keep theirs takes the other device\'s version', async (world) => {
  const { pa, pb } = await conflictOnB(world, 'Barn T', { hens: 230, notes: 'Two found broody' }, { hens: 170 }, { bOnDesktop: true });
  await badge(pb).click();
  await world.shot(pb, 'conflict-dialog-desktop');     // docs/demo.png
  await dialog(pb).getByRole('button', { name: 'Keep theirs' }).click();
  await badge(pb).waitFor({ state: 'hidden' });
  await synced(pb);
  same(await hensOf(pb, 'Barn T'), '230', 'B took A\'s version');
  same(await hensOf(pa, 'Barn T'), '230', 'A unchanged');
  same(await pb.evaluate(() => window.store.outbox()), [], 'nothing left to push');
  await world.shot(pb, 'keep-theirs');
});

test('conflict: Merge picks a side per field', async (world) => {
  const { pa, pb } = await conflictOnB(world, 'Barn M', { name: 'Barn M (east)', hens: 260 }, { name: 'Barn M (west)', hens: 240, breed: 'Sussex' });
  await badge(pb).click();
  same(await dialog(pb).locator('tr.diff').count(), 3, 'name, hens and breed differ');
  await dialog(pb).getByRole('button', { name: 'Merge…' }).click();
  await dialog(pb).getByRole('radio', { name: /^Name: use theirs/ }).check();
  check(await dialog(pb).getByRole('radio', { name: /^Hens: use yours/ }).isChecked(), 'yours is the default pick');
  await world.shot(pb, 'merge-per-field');
  await dialog(pb).getByRole('button', { name: 'Save merged' }).click();
  await badge(pb).waitFor({ state: 'hidden' });
  await synced(pb);
  const merged = await pb.evaluate(() => window.store.list('flocks', { where: { name: 'Barn M (east)' } }));
  same(merged.map((f) => [f.name, f.hens, f.breed]), [['Barn M (east)', 240, 'Sussex']], 'theirs for the name, mine for the rest');
  await card(pa, 'Barn M (east)').filter({ hasText: 'Sussex' }).waitFor({ timeout: 20000 });
  same(await hensOf(pa, 'Barn M (east)'), '240', 'A converged on the merge');
  await world.shot(pa, 'merged-on-a');
});

test('delete vs edit: asked in words; Keep mine brings the flock back everywhere', async (world) => {
  const { pa, pb } = await conflictOnB(world, 'Barn D', null, { hens: 333 });
  await badge(pb).click();
  await dialog(pb).getByRole('heading', { name: 'Flock “Barn D” was deleted on another device' }).waitFor();
  await dialog(pb).getByText('Keep your version, or accept the deletion?').waitFor();
  await world.shot(pb, 'delete-vs-edit');
  await dialog(pb).getByRole('button', { name: 'Keep mine' }).click();
  await badge(pb).waitFor({ state: 'hidden' });
  await synced(pb);
  await card(pa, 'Barn D').waitFor({ timeout: 20000 });
  same(await hensOf(pa, 'Barn D'), '333', 'A has the flock back, with B\'s edit');
  await world.shot(pa, 'delete-vs-edit-restored-on-a');
});

test('production rows: edits to different fields on two devices merge without asking', async (world) => {
  const A = await world.device('A'), B = await world.device('B', { viewport: PHONE });
  const pa = await open(A, '/demo/'), pb = await open(B, '/demo/?device=b');
  await addFlock(pa, { name: 'Barn P', hens: 100 });
  await pa.evaluate(async () => {
    const [f] = await window.store.list('flocks', { where: { name: 'Barn P' } });
    await window.store.put('dailyProduction', { id: 'p-merge', flockId: f.id, date: '2026-12-01T10:00:00Z', eggs: 90, broken: 1, notes: '' });
  });
  await synced(pa);
  await pb.waitForFunction(() => window.store.get('dailyProduction', 'p-merge'), null, { timeout: 20000 });
  await B.setOffline(true);
  await pb.getByRole('link', { name: 'Production' }).click();
  await pb.getByRole('button', { name: 'Edit Barn P entry' }).click();
  await fillEditor(pb, { notes: 'Two soft shells' });
  await editor(pb).getByRole('button', { name: 'Save changes' }).click();
  await pb.waitForFunction(async () => (await window.store.get('dailyProduction', 'p-merge')).notes === 'Two soft shells', null, { timeout: 20000 });
  await pa.getByRole('link', { name: 'Production' }).click();
  await pa.getByRole('button', { name: 'Edit Barn P entry' }).click();
  await fillEditor(pa, { eggs: 94 });
  await editor(pa).getByRole('button', { name: 'Save changes' }).click();
  // The save is written asynchronously after the click: wait for it, or synced(pa) may pass
  // on the state before it and A's edit would travel after B's.
  await pa.waitForFunction(async () => (await window.store.get('dailyProduction', 'p-merge')).eggs === 94, null, { timeout: 20000 });
  await synced(pa);
  await B.setOffline(false);
  await synced(pb);
  await pa.waitForFunction(async () => (await window.store.get('dailyProduction', 'p-merge')).notes === 'Two soft shells', null, { timeout: 20000 });
  // Known defect (docs/CONFLICTS.md, "Known defects"): when B's page and its service worker
  // both sync on reconnect, B can end the round on its pre-merge value while the server and A
  // hold the merged record; B's next sync brings it. A person presses Sync now; so does the test.
  await pb.locator('syncore-status').getByRole('button', { name: 'Sync now' }).click();
  await synced(pb);
  for (const page of [pa, pb]) {
    await page.waitForFunction(async () => (await window.store.get('dailyProduction', 'p-merge')).eggs === 94, null, { timeout: 20000 })
      .catch(() => {});   // the assertion below says what the device holds
    const r = await page.evaluate(() => window.store.get('dailyProduction', 'p-merge'));
    same([r.eggs, r.notes], [94, 'Two soft shells'], `both edits kept on ${page === pa ? 'A' : 'B'}`);
  }
  same(await badge(pb).isVisible(), false, 'no conflict asked');
  await world.shot(pb, 'production-merged-by-field');
});

test('health log: the edit that lost a silent last-write-wins is in the entry\'s History, and can be restored', async (world) => {
  const A = await world.device('A'), B = await world.device('B', { viewport: PHONE });
  const pa = await open(A, '/demo/'), pb = await open(B, '/demo/?device=b');
  await addFlock(pa, { name: 'Barn H', hens: 100 });
  await pa.evaluate(async () => {
    const [f] = await window.store.list('flocks', { where: { name: 'Barn H' } });
    await window.store.put('health', { id: 'h-lww', flockId: f.id, date: '2026-12-01T13:00:00Z', type: 'Vaccine', name: 'Marek', notes: '' });
  });
  await synced(pa);
  await pb.waitForFunction(() => window.store.get('health', 'h-lww'), null, { timeout: 20000 });
  await B.setOffline(true);
  await pb.evaluate(() => window.store.patch('health', 'h-lww', { notes: 'Batch 17 (from B)' }));   // older
  // Stamps are corrected by each device's measured server offset (differing by up to a round
  // trip): the newer edit comes clearly later.
  await pa.waitForFunction((t) => Date.now() > t + 300, Date.now());
  await pa.evaluate(() => window.store.patch('health', 'h-lww', { notes: 'Batch 18 (from A)' }));   // newer: wins
  await synced(pa);
  await B.setOffline(false);
  await synced(pb);
  same((await pb.evaluate(() => window.store.get('health', 'h-lww'))).notes, 'Batch 18 (from A)', 'the newer edit won silently');
  same(await badge(pb).isVisible(), false, 'nothing asked');
  await pb.getByRole('link', { name: 'Health' }).click();
  await pb.getByRole('button', { name: 'History of Marek' }).click();
  await dialog(pb).getByRole('heading', { name: /^History of/ }).waitFor();
  await world.shot(pb, 'health-history');
  await dialog(pb).getByText('Batch 17 (from B)').waitFor();
  await dialog(pb).getByRole('button', { name: 'Restore this version' }).click();
  await synced(pb);
  await pa.waitForFunction(async () => (await window.store.get('health', 'h-lww')).notes === 'Batch 17 (from B)', null, { timeout: 20000 });
});
