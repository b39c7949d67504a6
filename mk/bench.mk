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

# The native pull-apply driver for profiling the core (bench/perf/pull_native.c), the core
# compiled -O2 -g with it: make perf-native; then e.g.
#   valgrind --tool=callgrind build/native/perf/pull_native 5000 500 500 375
.PHONY: perf-native
PERF_CORE_SRC := $(filter-out wasm/src/wasm_exports.c,$(wildcard wasm/src/*.c))
build/native/perf/pull_native: bench/perf/pull_native.c $(PERF_CORE_SRC) $(wildcard wasm/src/*.h) $(NATIVE)/sqlite3.o $(NATIVE)/cJSON.o
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -DNDEBUG -iquote wasm/src -I$(TP)/sqlite -I$(TP)/cjson -o $@ $< $(PERF_CORE_SRC) \
	  $(NATIVE)/sqlite3.o $(NATIVE)/cJSON.o $(CORE_LIBS)
perf-native: build/native/perf/pull_native
	$<
