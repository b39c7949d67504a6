# Browser tests (tests/e2e/run.mjs): headless Debian Chromium driven by npm's
# playwright-core against pages served from 127.0.0.1 — durability (reload, restart,
# renderer crash, SIGKILL), several contexts on one store, backends, storage failures.
# Installs its own deps: chromium + nodejs + npm (apt) and `npm ci` (scripts/deps.sh browser).

.PHONY: test-browser
test-browser: wasm | deps-browser
	node tests/e2e/run.mjs
	node tests/e2e/run.mjs --lazy

TEST_TARGETS += test-browser

# The public JS API (tests/js/): the suite in window / module worker / module service
# worker over idb, opfs and memory, then the seed scenarios against the real server.
.PHONY: test-js
test-js: wasm server | deps-browser
	node tests/js/run.mjs
	node tests/js/sync-e2e.mjs

TEST_TARGETS += test-js
