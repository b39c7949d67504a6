# Client-side benchmarks (bench/client/): syncore (storage 'idb') vs PouchDB 9 vs raw
# IndexedDB, the same work in one headless Debian Chromium run; medians, ops/s and ratios
# to the IndexedDB floor go to the "Client" section of docs/BENCHMARKS.md.
#   make bench-client    (env: BENCH_N=2000 BENCH_REPS=3 BENCH_QUERIES=200; about 4-5 minutes)
# Installs its own deps: chromium + node (scripts/deps.sh browser) and the npm devDependencies
# (playwright-core, pouchdb) with `npm ci` when pouchdb is missing.

.PHONY: bench-client deps-bench-client
deps-bench-client: | deps-browser
	@[ -f node_modules/pouchdb/dist/pouchdb.min.js ] || npm ci --no-audit --no-fund --loglevel=error
bench-client: wasm | deps-bench-client
	node bench/client/run.mjs
bench: bench-client
