// sample-legacy.js — a small farm in the shape EGGlogU keeps in localStorage under
// `egglogu_data` (top-level collections, nested `feed.*`, the `farm` and `settings`
// singletons, an append-only `auditLog`), dated over the viewer's last week so the figures
// have something to show. Times carry the farm's own offset (-03:00), as the old app wrote them.

const FLOCKS = [
  { id: 'legacy-f1', name: 'North barn', breed: 'ISA Brown', hens: 1180, house: 'Barn 1', housedOn: '2026-02-14', notes: 'Cage-free, automatic nests.' },
  { id: 'legacy-f2', name: 'South barn', breed: 'Lohmann LSL', hens: 950, house: 'Barn 2', housedOn: '2026-05-03' },
  { id: 'legacy-f3', name: 'Paddock hens', breed: 'Rhode Island Red', hens: 140, house: 'Mobile coop', housedOn: '2025-10-20', notes: 'Free range, moved weekly.' },
];
const LAY = { 'legacy-f1': 0.91, 'legacy-f2': 0.88, 'legacy-f3': 0.72 };

// 'YYYY-MM-DDTHH:MM:00-03:00' for `daysBack` days ago at the farm's hh:mm.
function farmTime(daysBack, hh, mm) {
  const d = new Date(Date.now() - daysBack * 86400000 - 3 * 3600000);
  const day = d.toISOString().slice(0, 10);
  return `${day}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00-03:00`;
}

export function sampleLegacyBlob() {
  const updated = new Date(Date.now() - 8 * 86400000).toISOString();
  const dailyProduction = [];
  for (let day = 6; day >= 1; day--) {
    for (const f of FLOCKS) {
      const eggs = Math.round(f.hens * LAY[f.id] * (0.97 + ((day * 7 + f.hens) % 5) / 100));
      dailyProduction.push({ id: `legacy-p-${f.id.slice(-2)}-${day}`, flockId: f.id, date: farmTime(day, 7, 10 + day),
        eggs, broken: Math.round(eggs * 0.012), feedKg: Math.round(f.hens * 0.112 * 10) / 10, notes: day === 3 && f.id === 'legacy-f1' ? 'Water line fixed' : '',
        _updatedAt: farmTime(day, 9, 0) });
    }
  }
  return {
    farm: { name: 'Granja Los Álamos', location: 'Canelones, Uruguay', owner: 'María Pérez', _updatedAt: updated },
    settings: { lang: 'es', currency: 'UYU', units: 'metric', theme: 'light' },
    flocks: FLOCKS.map((f) => ({ ...f, _updatedAt: updated })),
    dailyProduction,
    vaccines: [{ id: 'legacy-v1', flockId: 'legacy-f2', date: farmTime(5, 8, 30), type: 'Vaccine', name: 'Newcastle (La Sota), drinking water', notes: 'Next dose in 8 weeks' }],
    medications: [{ id: 'legacy-m1', flockId: 'legacy-f1', date: farmTime(4, 16, 0), type: 'Medication', name: 'Vitamin AD3E', notes: '3 days in water' }],
    outbreaks: [{ id: 'legacy-o1', flockId: 'legacy-f3', date: farmTime(2, 11, 45), type: 'Outbreak', name: 'Mild coryza, 6 birds isolated', notes: 'Vet visit booked' }],
    feed: {
      purchases: [{ id: 'legacy-fp1', date: farmTime(7, 10, 0), kg: 2000, supplier: 'Molinos del Sur', price: 38400 }],
      consumption: [{ id: 'legacy-fc1', date: farmTime(1, 18, 0), kg: 254 }],
    },
    auditLog: [
      { id: 'legacy-a1', at: farmTime(6, 7, 5), user: 'maria', action: 'create', entity: 'dailyProduction' },
      { id: 'legacy-a2', at: farmTime(2, 11, 50), user: 'maria', action: 'create', entity: 'outbreaks' },
    ],
    lastSyncTime: null,
  };
}
