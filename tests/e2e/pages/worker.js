// worker.js — module dedicated worker serving api.js's api to the harness page.
import { makeApi, serveApi } from './api.js';

const api = makeApi((writer, i) => self.postMessage({ report: [writer, i] }));
const handle = serveApi(api, (m) => self.postMessage(m));
self.onmessage = (e) => handle(e.data);
