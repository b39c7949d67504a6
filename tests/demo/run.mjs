// run.mjs — `make test-demo`: the UI parts on their own (ui-parts.mjs), then the demo farm
// clicked through (demo.mjs), in headless Debian Chromium against the real server serving
// the staged demo. Screenshots: build/test/demo/. Usage: node tests/demo/run.mjs [name-substring]
import { startWorld, runTests } from './lib.mjs';
import { uiTests } from './ui-parts.mjs';
import { demoTests } from './demo.mjs';

const only = process.argv[2];
const world = await startWorld();
let failed = 0, passed = 0;
try {
  for (const [title, tests] of [['syncore/ui parts', uiTests], ['demo farm', demoTests]]) {
    const r = await runTests(title, tests, world, only);
    failed += r.failed;
    passed += r.passed;
  }
} finally {
  await world.stop();
}
console.log(`# demo: ${passed} passed, ${failed} failed; screenshots in build/test/demo/`);
process.exit(failed || !passed ? 1 : 0);
