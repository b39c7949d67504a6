// index.js — `syncore/ui`: registers <syncore-status> and <syncore-conflicts> when imported
// (and not before: the core glue never loads this). Each element takes `el.store = store`;
// see docs/UI.md for their properties, parts, custom properties and events.
import { SyncoreStatusElement } from './status.js';
import { SyncoreConflictsElement } from './conflicts.js';

export { SyncoreStatusElement, SyncoreConflictsElement };

if (!customElements.get('syncore-status')) customElements.define('syncore-status', SyncoreStatusElement);
if (!customElements.get('syncore-conflicts')) customElements.define('syncore-conflicts', SyncoreConflictsElement);
