// run.mjs — the five seed apps end to end (SPEC §10, issue 9), plus Live and Faults: every
// scenario file in this folder, on one harness (lib.mjs: the real build/syncore-server, headless
// Chromium, a browser context per device). Usage: node tests/seeds/run.mjs [name-substring]
import { runTests } from './lib.mjs';

const FILES = ['000-feeding-log', '001-egglogu', '002-packing-list', '003-ironflow', '004-smartdmv', 'live', 'faults'];
const files = [];
for (const file of FILES) files.push({ file, tests: (await import(`./${file}.mjs`)).tests });
const { passed, failed } = await runTests(files, process.argv[2]);
process.exit(failed || !passed ? 1 : 0);
