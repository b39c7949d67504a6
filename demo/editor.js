// editor.js — the one form dialog the demo uses to add and edit flocks, production rows
// and health entries. Moments are typed in the viewer's local time (datetime-local) and
// stored as UTC ISO strings; an edit patches only the fields the person changed, so the
// other device's edits to other fields merge instead of being overwritten.
import { h } from '../js-glue/ui/shared.js';
import { LABELS } from './labels.js';

const HEALTH_TYPES = ['Vaccine', 'Medication', 'Outbreak', 'Check-up'];

// field: { name, type: text|number|date|datetime|select|textarea, required, min, step, options(flocks) }
export const FORMS = {
  flocks: { noun: 'flock', fields: [
    { name: 'name', type: 'text', required: true }, { name: 'breed', type: 'text' },
    { name: 'hens', type: 'number', min: 0, step: 1, required: true }, { name: 'house', type: 'text' },
    { name: 'housedOn', type: 'date' }, { name: 'notes', type: 'textarea' }] },
  dailyProduction: { noun: 'production entry', fields: [
    { name: 'flockId', type: 'select', required: true, options: (flocks) => flocks.map((f) => [f.id, f.name]) },
    { name: 'date', type: 'datetime', required: true }, { name: 'eggs', type: 'number', min: 0, step: 1, required: true },
    { name: 'broken', type: 'number', min: 0, step: 1 }, { name: 'feedKg', type: 'number', min: 0, step: 0.1 },
    { name: 'notes', type: 'textarea' }] },
  health: { noun: 'health entry', fields: [
    { name: 'flockId', type: 'select', required: true, options: (flocks) => flocks.map((f) => [f.id, f.name]) },
    { name: 'date', type: 'datetime', required: true },
    { name: 'type', type: 'select', required: true, options: () => HEALTH_TYPES.map((t) => [t, t]) },
    { name: 'name', type: 'text', required: true }, { name: 'notes', type: 'textarea' }] },
};

const pad = (n) => String(n).padStart(2, '0');
// UTC ISO → the viewer's local 'YYYY-MM-DDTHH:MM' for <input type=datetime-local>, and back.
export function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const fromLocalInput = (value) => new Date(value).toISOString();   // parsed as local time

function inputText(field, value) {
  if (value === undefined || value === null) return '';
  return field.type === 'datetime' ? toLocalInput(value) : String(value);
}
function parsed(field, text) {
  if (text === '') return field.type === 'number' ? null : '';
  if (field.type === 'number') return Number(text);
  if (field.type === 'datetime') return fromLocalInput(text);
  return text;
}

function control(field, label, text, flocks) {
  const common = { id: `f-${field.name}`, name: field.name, required: field.required || null };
  if (field.type === 'textarea') return h('textarea', { ...common, rows: 3 }, text);
  if (field.type === 'select') {
    return h('select', common, field.options(flocks).map(([value, name]) =>
      h('option', { value, selected: value === text || null }, name)));
  }
  const type = field.type === 'datetime' ? 'datetime-local' : field.type;
  return h('input', { ...common, type, value: text, min: field.min ?? null, step: field.step ?? null,
                      inputmode: field.type === 'number' ? (field.step === 1 ? 'numeric' : 'decimal') : null });
}

// Opens the dialog; resolves when it closes. record: the current one (edit) or defaults (new).
export function openEditor(store, collection, { record = null, defaults = {}, flocks = [] } = {}) {
  const dialog = document.getElementById('editor');
  const form = FORMS[collection];
  const labels = LABELS[collection].fields;
  const start = record || defaults;
  const initial = Object.fromEntries(form.fields.map((f) => [f.name, inputText(f, start[f.name])]));
  const error = h('p', { class: 'form-error', role: 'alert' });
  const title = `${record ? 'Edit' : 'New'} ${form.noun}`;
  const body = h('form', { method: 'dialog', class: 'editor' },
    h('h2', { id: 'editor-title' }, title),
    h('div', { class: 'fields' }, form.fields.map((f) => h('label', { class: `field ${f.type === 'textarea' ? 'wide' : ''}`, for: `f-${f.name}` },
      h('span', null, labels[f.name]), control(f, labels[f.name], initial[f.name], flocks)))),
    error,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'ghost', onclick: () => dialog.close('cancel') }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary' }, record ? 'Save changes' : `Add ${form.noun}`)));
  dialog.replaceChildren(body);
  return new Promise((resolve) => {
    body.addEventListener('submit', async (e) => {
      e.preventDefault();
      const data = new FormData(body);
      const fields = {};
      for (const f of form.fields) {
        const text = String(data.get(f.name) ?? '');
        if (!record || text !== initial[f.name]) fields[f.name] = parsed(f, text);
      }
      try {
        const saved = record ? (Object.keys(fields).length ? await store.patch(collection, record.id, fields) : record)
          : await store.put(collection, { ...defaults, ...fields });
        dialog.close('saved');
        resolve(saved);
      } catch (err) {
        error.textContent = err.message;
      }
    });
    dialog.addEventListener('close', () => resolve(null), { once: true });
    dialog.showModal();
    const first = body.querySelector('input, select, textarea');
    if (first) first.focus();
  });
}
