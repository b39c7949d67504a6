# Client-side benchmarks (bench/compare/): syncore (storage 'idb' and 'opfs' in a dedicated
# worker, 'idb' in a service worker) vs raw IndexedDB, Dexie 4, the official SQLite wasm on
# opfs-sahpool, wa-sqlite's IDBBatchAtomicVFS and PouchDB 9, the same sync work against the
# real build/syncore-server in ONE headless Debian Chromium run; every end state judged.
# Medians with min–max go to the "Client" section of docs/BENCHMARKS.md.
#   make bench-client        (about 10-15 minutes; env: BENCH_REPS=3 BENCH_BASE=20000 BENCH_EDITS=2000
#                             BENCH_CONFLICTS=1500 BENCH_UPDATES=10000 BENCH_CREATES=10000 BENCH_WRITES=200
#                             BENCH_TIMES=1000000 BENCH_ONLY=key,... BENCH_MILLION=1)
#   make bench-client-smoke  (tiny sizes, one repetition, nothing written: every contestant loads,
#                             syncs and is judged equal; under a minute)
# Installs its own deps: chromium + node (scripts/deps.sh browser), the server's native deps, and
# the npm devDependencies (playwright-core, pouchdb, dexie, @sqlite.org/sqlite-wasm,
# @journeyapps/wa-sqlite, pinned in package-lock.json) with `npm ci` when one is missing.

BENCH_NPM := node_modules/pouchdb/dist/pouchdb.min.js node_modules/dexie/dist/dexie.mjs \
  node_modules/@sqlite.org/sqlite-wasm/dist/index.mjs node_modules/@journeyapps/wa-sqlite/dist/wa-sqlite-async.mjs

.PHONY: bench-client bench-client-smoke deps-bench-client
deps-bench-client: | deps-browser
	@for f in $(BENCH_NPM); do [ -f $$f ] || { npm ci --no-audit --no-fund --loglevel=error; break; }; done
bench-client: wasm build/syncore-server | deps-bench-client deps-server
	BENCH_SERVER_MODE=$(MODE) node bench/compare/run.mjs
bench-client-smoke: wasm build/syncore-server | deps-bench-client deps-server
	node bench/compare/run.mjs --smoke
bench: bench-client
TEST_TARGETS += bench-client-smoke

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
