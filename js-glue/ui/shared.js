// shared.js — what <syncore-status> and <syncore-conflicts> both need: a tiny element
// builder (no innerHTML, so record data can never become markup), the viewer's-zone time
// formatting, the app's labels and record titles, and the base element that holds a
// store and its subscriptions. The elements' own looks and behaviour live in status.js
// and conflicts.js; nothing here touches the store beyond store.on().

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/;

// h('button', { part: 'x', onclick }, 'text', child…) → Element. Attributes named on* are
// listeners; `hidden`/`disabled`/`checked` are properties; null/false attributes are left out.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'hidden' || k === 'disabled' || k === 'checked' || k === 'value') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

// A UTC ISO time shown in the viewer's zone: time only when it is today, else with the date.
export function formatTime(iso, { withDate = false } = {}) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const today = new Date().toDateString() === d.toDateString();
  const opts = today && !withDate ? { hour: '2-digit', minute: '2-digit' }
    : { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(undefined, opts).format(d);
}

export function timeElement(iso, options) {
  return h('time', { datetime: iso, title: formatTime(iso, { withDate: true }) }, formatTime(iso, options));
}

export function formatValueDefault(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (typeof value === 'string' && ISO_UTC.test(value)) return formatTime(value, { withDate: true });
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// The app's words for its data: el.labels = { flocks: { name: 'Flock', fields: { hens: 'Hens' },
// hidden: ['updated'] } }, el.recordTitle = (collection, record) => string,
// el.formatValue = (collection, field, value) => string (undefined: the default).
export class SyncoreElement extends HTMLElement {
  constructor() {
    super();
    this._store = null;
    this._off = [];
    this.labels = {};
    this.recordTitle = null;
    this.formatValue = null;
    this.attachShadow({ mode: 'open' });
  }

  get store() { return this._store; }
  set store(store) {
    this._unsubscribe();
    this._store = store || null;
    if (this._store && this.isConnected) this._subscribe();
  }

  connectedCallback() { if (this._store && !this._off.length) this._subscribe(); this.render(); }
  disconnectedCallback() { this._unsubscribe(); }

  _subscribe() {
    for (const [event, fn] of this.storeEvents()) this._off.push(this._store.on(event, fn));
    const onNet = () => this.render();
    addEventListener('online', onNet);
    addEventListener('offline', onNet);
    this._off.push(() => { removeEventListener('online', onNet); removeEventListener('offline', onNet); });
    this.render();
  }
  _unsubscribe() { for (const off of this._off.splice(0)) off(); }

  storeEvents() { return []; }
  render() {}

  collectionName(collection) { return (this.labels[collection] && this.labels[collection].name) || collection; }
  fieldLabel(collection, field) {
    const f = this.labels[collection] && this.labels[collection].fields;
    return (f && f[field]) || field;
  }
  hiddenFields(collection) { return new Set(['id', ...((this.labels[collection] && this.labels[collection].hidden) || [])]); }
  titleOf(collection, record, recordId) {
    const custom = this.recordTitle && record ? this.recordTitle(collection, record) : null;
    if (custom) return String(custom);
    const named = record && (record.name || record.title);
    return named ? String(named) : `${this.collectionName(collection)} ${String(recordId || (record && record.id) || '').slice(0, 8)}`;
  }
  valueText(collection, field, value) {
    const custom = this.formatValue ? this.formatValue(collection, field, value) : undefined;
    return custom === undefined || custom === null ? formatValueDefault(value) : String(custom);
  }

  // A bubbling, composed event the app can listen to on the element or the document.
  announce(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true })); }
}

// Both elements' theme: every colour and radius is a custom property the app may set.
export const BASE_CSS = `
:host { --_accent: var(--syncore-accent, #2f6f3e); --_danger: var(--syncore-danger, #b3261e);
  --_warn: var(--syncore-warn, #8a5a00); --_ok: var(--syncore-ok, #1e7b34); --_muted: var(--syncore-muted, #5f6368);
  --_bg: var(--syncore-bg, #fff); --_fg: var(--syncore-fg, #1f2421); --_line: var(--syncore-line, #dfe3df);
  --_soft: var(--syncore-soft, #f3f6f3); --_radius: var(--syncore-radius, 10px);
  font: var(--syncore-font, inherit); color: var(--_fg); }
[hidden] { display: none !important; }
button { font: inherit; font-size: .875em; border-radius: calc(var(--_radius) * .8); border: 1px solid var(--_line);
  background: var(--_bg); color: var(--_fg); padding: .45em .9em; cursor: pointer; min-height: 2.4em; }
button:hover { background: var(--_soft); }
button:focus-visible, input:focus-visible { outline: 3px solid color-mix(in srgb, var(--_accent) 45%, transparent); outline-offset: 2px; }
button.primary { background: var(--_accent); border-color: var(--_accent); color: #fff; }
button.primary:hover { filter: brightness(1.08); }
button.danger { color: var(--_danger); border-color: color-mix(in srgb, var(--_danger) 40%, var(--_line)); }
button:disabled { opacity: .5; cursor: default; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
