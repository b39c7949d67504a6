// ui-parts.mjs — <syncore-status> and <syncore-conflicts> on their own: mounted by
// tests/demo/pages/ui.html over memory stores whose network the test scripts (held pushes,
// 503s, per-op rejections), against the real server. Driven by keyboard where a person
// would be, read through roles and accessible names where a screen reader would.
import { check, same, PHONE } from './lib.mjs';

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
export { tests as uiTests };

const part = (page, el, name) => page.locator(`${el} [part="${name}"]`);
const NOTES = { notes: { strategy: 'ask', onDelete: 'ask' }, memos: { strategy: 'lww' } };

async function uiPage(world, { viewport } = {}) {
  const device = await world.device('ui', viewport ? { viewport } : {});
  const page = await device.context.newPage();
  await page.goto(`${world.repo.base}/tests/demo/pages/ui.html`);
  await page.waitForFunction(() => window.uiReady === true, null, { timeout: 20000 });
  return { page, device };
}

// Two devices in one page: A and B over the same partition; B is mounted.
async function twoDevices(page, collections = NOTES) {
  await page.evaluate(async (cols) => {
    window.A = await window.openDevice('a', cols);
    window.B = await window.openDevice('b', cols);
    window.mount(window.B);
  }, collections);
}

test('status: pending count, Sync now, a progress bar over several batches, offline', async (world) => {
  const { page, device } = await uiPage(world);
  await page.evaluate(async () => {
    window.A = await window.openDevice('status', { notes: {} }, { batchSize: 10 });
    window.mount(window.A);
    for (let i = 0; i < 35; i++) await window.A.put('notes', { id: `n${i}`, title: `Note ${i}` });
  });
  const text = part(page, 'syncore-status', 'text');
  await text.filter({ hasText: '35 changes waiting to sync' }).waitFor();
  same(await text.getAttribute('role'), 'status', 'the status line is a live region');
  await page.evaluate(() => { window.faults.holdAfter = 1; window.release = window.held(); });
  const button = part(page, 'syncore-status', 'sync-button');
  await button.focus();
  await page.keyboard.press('Enter');
  const progress = part(page, 'syncore-status', 'progress');
  await progress.filter({ hasText: 'Sending 10 of 35' }).waitFor();
  const bar = progress.getByRole('progressbar', { name: 'Sync progress' });
  same([await bar.getAttribute('value'), await bar.getAttribute('max')], ['10', '35'], 'the bar shows the batch done');
  same(await button.isDisabled(), true, 'Sync now waits while a sync runs');
  await world.shot(page, 'ui-status-progress');
  await page.evaluate(() => { window.faults.holdAfter = Infinity; window.release(); });
  await text.filter({ hasText: 'All changes synced' }).waitFor();
  same(await progress.count(), 0, 'the bar is gone when the sync ends');
  check(/Last sync \d\d:\d\d/.test(await text.textContent()), `last sync time shown: ${await text.textContent()}`);
  await device.setOffline(true);
  await part(page, 'syncore-status', 'indicator').filter({ hasText: 'Offline' }).waitFor();
  same(await button.isDisabled(), true, 'no Sync now offline');
  await page.evaluate(() => window.A.put('notes', { id: 'later', title: 'Written offline' }));
  await text.filter({ hasText: '1 change saved on this device' }).waitFor();
  await world.shot(page, 'ui-status-offline');
  await device.setOffline(false);
  await part(page, 'syncore-status', 'indicator').filter({ hasText: 'Online' }).waitFor();
  // Themed through custom properties.
  await page.evaluate(() => document.getElementById('status').style.setProperty('--syncore-accent', 'rgb(1, 2, 3)'));
  same(await button.evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(1, 2, 3)', '--syncore-accent themes the button');
});

test('status: rejected and failed ops listed with their reason; Discard one, Retry all', async (world) => {
  const { page } = await uiPage(world, { viewport: PHONE });
  await page.evaluate(async () => {
    window.A = await window.openDevice('fail', { notes: {} });
    window.mount(window.A);
    window.faults.rejectIds.add('bad');
    await window.A.put('notes', { id: 'bad', title: 'Minus three eggs' });
    await window.A.put('notes', { id: 'good', title: 'Fine' });
    await window.A.sync();
    window.faults.failPushes = 1;
    await window.A.put('notes', { id: 'flaky', title: 'Sent during a restart' });
    await window.A.sync();
  });
  const failedButton = part(page, 'syncore-status', 'failed-button');
  await failedButton.filter({ hasText: 'Review 2 failed' }).waitFor();
  same(await failedButton.getAttribute('aria-label'), 'Review 2 changes that could not sync', 'the button says what it opens');
  await part(page, 'syncore-status', 'text').filter({ hasText: '2 changes could not sync' }).waitFor();
  same(await failedButton.getAttribute('aria-expanded'), 'false', 'collapsed');
  await failedButton.focus();
  await page.keyboard.press('Enter');
  const panel = page.getByRole('region', { name: 'Changes that could not sync' });
  await panel.getByText('Rejected by the server: eggs must not be negative').waitFor();
  await panel.getByText(/Could not reach the server: .*503/).waitFor();
  same(await failedButton.getAttribute('aria-expanded'), 'true', 'expanded');
  await world.shot(page, 'ui-status-failed-panel');
  await panel.getByRole('button', { name: 'Discard the change to “Minus three eggs”' }).click();
  await failedButton.filter({ hasText: 'Review 1 failed' }).waitFor();
  same(await page.evaluate(() => window.A.get('notes', 'bad')), null, 'discarded: the never-pushed record is gone');
  await panel.getByRole('button', { name: 'Retry all' }).click();
  await page.evaluate(() => window.A.sync());
  await part(page, 'syncore-status', 'text').filter({ hasText: 'All changes synced' }).waitFor();
  same(await failedButton.count(), 0, 'nothing failed any more');
  same(await page.evaluate(() => window.A.outbox()), [], 'outbox empty');
  same((await page.evaluate(() => window.events)).map((e) => e.type), ['syncore-discarded', 'syncore-retried'], 'the element told the app');
});

test('conflicts: badge, both versions side by side with the base and the differing fields marked; keyboard', async (world) => {
  const { page } = await uiPage(world);
  await twoDevices(page);
  await page.evaluate(async () => {
    await window.A.put('notes', { id: 'n1', title: 'Feed order', body: '20 bags', qty: 3 });
    await window.A.sync(); await window.B.sync();
    await window.A.patch('notes', 'n1', { body: '25 bags' });
    await window.B.patch('notes', 'n1', { body: '18 bags', qty: 4 });
    await window.A.sync(); await window.B.sync();
  });
  const badge = page.getByRole('button', { name: '1 sync conflict to review' });
  await badge.waitFor();
  await part(page, 'syncore-status', 'text').filter({ hasText: '1 change waiting on a conflict' }).waitFor();
  await badge.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Note “Feed order” was changed on two devices' });
  await dialog.waitFor();
  same(await page.evaluate(() => document.getElementById('conflicts').shadowRoot.activeElement.textContent),
    'Note “Feed order” was changed on two devices', 'focus starts on the heading, read out first');
  same(await dialog.locator('thead th').allTextContents(), ['Field', 'Yours', 'Theirs', 'Before'], 'mine, theirs and the base');
  same(await dialog.locator('tbody th').allTextContents(), ['Title', 'Body (differs)Before: 20 bags', 'Quantity (differs)Before: 3'],
    'rows in the app\'s order with its labels, differing ones said');
  same(await dialog.locator('tr.diff td').allTextContents(), ['18 bags', '25 bags', '20 bags', '4', '3', '3'], 'both versions and the base');
  await world.shot(page, 'ui-conflict-dialog');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  await badge.click();
  const keep = dialog.getByRole('button', { name: 'Keep mine' });
  await keep.focus();
  await page.keyboard.press('Enter');
  await badge.waitFor({ state: 'hidden' });
  same(await page.locator('syncore-conflicts [role="status"]').textContent(), 'Resolved: you kept your version.', 'said to screen readers');
  same((await page.evaluate(() => window.events)).map((e) => [e.type, e.collection, e.recordId, e.choice]),
    [['syncore-resolved', 'notes', 'n1', 'mine']], 'the element told the app');
  await page.evaluate(async () => { await window.B.sync(); await window.A.sync(); });
  same(await page.evaluate(() => window.A.get('notes', 'n1')), { id: 'n1', title: 'Feed order', body: '18 bags', qty: 4 }, 'mine reached A');
});

test('conflicts: step through several; merge per field; delete-vs-edit and edit-vs-delete in words', async (world) => {
  const { page } = await uiPage(world, { viewport: PHONE });
  await twoDevices(page);
  await page.evaluate(async () => {
    const { A, B } = window;
    for (const id of ['n2', 'n3', 'n4']) await A.put('notes', { id, title: `Note ${id}`, body: 'start', qty: 1 });
    await A.sync(); await B.sync();
    await A.patch('notes', 'n2', { body: 'from A', qty: 2 }); await B.patch('notes', 'n2', { body: 'from B', qty: 5 });
    await A.delete('notes', 'n3'); await B.patch('notes', 'n3', { body: 'kept on B' });
    await A.patch('notes', 'n4', { body: 'edited on A' }); await B.delete('notes', 'n4');
    await A.sync(); await B.sync();
  });
  const badge = page.getByRole('button', { name: '3 sync conflicts to review' });
  await badge.click();
  const dialog = page.locator('syncore-conflicts dialog');
  const seen = {};
  for (let i = 0; i < 3; i++) {
    await dialog.getByText(`Conflict ${i + 1} of 3`).waitFor();
    seen[await dialog.locator('h2').textContent()] = i;
    if (i < 2) await dialog.getByRole('button', { name: 'Next conflict' }).click();
  }
  check(seen['Note “Note n2” was changed on two devices'] !== undefined, `edit-edit heading: ${Object.keys(seen)}`);
  check(seen['Note “Note n3” was deleted on another device'] !== undefined, 'delete-vs-edit heading');
  check(seen['You deleted note “Note n4”, but it was changed on another device'] !== undefined, 'edit-vs-delete heading');
  const goTo = async (heading) => {
    for (;;) {
      if ((await dialog.locator('h2').textContent()) === heading) return;
      await dialog.getByRole('button', { name: 'Previous conflict' }).click();
    }
  };
  await goTo('Note “Note n3” was deleted on another device');
  await dialog.getByText('You changed it on this device. Keep your version, or accept the deletion?').waitFor();
  await world.shot(page, 'ui-delete-vs-edit');
  await dialog.getByRole('button', { name: 'Accept deletion' }).click();
  await dialog.getByText(/^Conflict \d of 2/).waitFor();
  await goTo('You deleted note “Note n4”, but it was changed on another device');
  await dialog.getByText('Keep it deleted, or restore the version from the other device?').waitFor();
  await dialog.getByRole('button', { name: 'Restore theirs' }).click();
  await dialog.getByRole('heading', { name: 'Note “Note n2” was changed on two devices' }).waitFor();
  await dialog.getByRole('button', { name: 'Merge…' }).click();
  await dialog.getByRole('radio', { name: 'Body: use theirs, from A' }).check();
  await world.shot(page, 'ui-merge');
  await dialog.getByRole('button', { name: 'Save merged' }).click();
  await badge.waitFor({ state: 'hidden' });
  same(await dialog.isVisible(), false, 'the dialog closes with the last conflict');
  await page.evaluate(async () => { await window.B.sync(); await window.A.sync(); });
  const on = (who) => page.evaluate((w) => Promise.all(['n2', 'n3', 'n4'].map((id) => window[w].get('notes', id))), who);
  const expected = [{ id: 'n2', title: 'Note n2', body: 'from A', qty: 5 }, null, { id: 'n4', title: 'Note n4', body: 'edited on A', qty: 1 }];
  same(await on('B'), expected, 'B: merged, deletion accepted, theirs restored');
  same(await on('A'), expected, 'A converged');
});

test('conflicts: showArchive lists what lost a silent last-write-wins; Restore brings it back', async (world) => {
  const { page } = await uiPage(world);
  await twoDevices(page);
  await page.evaluate(async () => {
    const { A, B } = window;
    await A.put('memos', { id: 'm1', title: 'Gate code', body: '1234' });
    await A.sync(); await B.sync();
    await B.patch('memos', 'm1', { body: '4321 (B, older)' });
    // Each device stamps with its clock corrected by the server-time offset it measured; the two
    // offsets differ by up to a round trip, so the newer edit comes clearly later.
    const t = Date.now();
    while (Date.now() <= t + 300) await new Promise((r) => setTimeout(r, 10));
    await A.patch('memos', 'm1', { body: '9999 (A, newer)' });
    await A.sync(); await B.sync();
    await document.getElementById('conflicts').showArchive('memos', 'm1');
  });
  const dialog = page.getByRole('dialog', { name: 'History of “Gate code”' });
  await dialog.waitFor();
  await dialog.getByRole('region', { name: 'Version 1' }).getByText('4321 (B, older)').waitFor();
  await world.shot(page, 'ui-archive');
  await dialog.getByRole('button', { name: 'Restore this version' }).click();
  await dialog.waitFor({ state: 'hidden' });
  same((await page.evaluate(() => window.B.get('memos', 'm1'))).body, '4321 (B, older)', 'restored');
  await page.evaluate(() => document.getElementById('conflicts').showArchive('memos', 'nothing-here'));
  await page.getByText('No version of this record has been overwritten.').waitFor();
});
