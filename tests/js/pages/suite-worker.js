// Module dedicated worker: runs the API suite on request from suite.html.
import * as lib from '../../../js-glue/syncore.js';
import { runApiSuite } from '../api-suite.js';

self.onmessage = async (e) => {
  const [port] = e.ports;
  port.postMessage(await runApiSuite(lib, e.data).catch((err) => [{ name: 'worker', ok: false, error: String(err.stack || err) }]));
};
