// labels.js — the words the demo gives syncore's UI parts for its data: collection and
// field names, the fields not worth showing in a conflict, and a title for each record
// ("Barn A", "Barn A · 28 Nov, 06:30"), which needs the flocks' names.
import { formatTime } from '../js-glue/ui/shared.js';

// EGGlogU's own per-record stamp, carried over by the import: syncore keeps its own.
const LEGACY_STAMP = ['_updatedAt'];
export const LABELS = {
  flocks: { name: 'Flock', fields: { name: 'Name', breed: 'Breed', hens: 'Hens', house: 'House', housedOn: 'Housed on', notes: 'Notes' }, hidden: LEGACY_STAMP },
  dailyProduction: { name: 'Production entry', fields: { flockId: 'Flock', date: 'Collected', eggs: 'Eggs', broken: 'Broken',
                     feedKg: 'Feed (kg)', notes: 'Notes' }, hidden: LEGACY_STAMP },
  health: { name: 'Health entry', fields: { flockId: 'Flock', date: 'Date', type: 'Type', name: 'Product or finding', notes: 'Notes' }, hidden: LEGACY_STAMP },
  farm: { name: 'Farm' },
  auditLog: { name: 'Audit entry' },
};

let flockNames = new Map();
export function setFlockNames(flocks) { flockNames = new Map(flocks.map((f) => [f.id, f.name])); }
export const flockName = (id) => flockNames.get(id) || 'Unknown flock';

export function recordTitle(collection, record) {
  if (collection === 'flocks') return record.name;
  if (collection === 'dailyProduction' || collection === 'health') {
    return `${flockName(record.flockId)} · ${record.date ? formatTime(record.date, { withDate: true }) : 'no date'}`;
  }
  return null;
}

// A calendar day ('2026-03-12') has no zone: shown as that day, wherever the viewer is.
export function formatDay(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(day));
  if (!m) return String(day);
  return new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' })
    .format(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])));
}

export function formatValue(collection, field, value) {
  if (field === 'flockId') return flockName(value);
  if (field === 'housedOn' && value) return formatDay(value);
  return undefined;
}
