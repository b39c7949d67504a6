# The wasm module: the C core + SQLite (OS_OTHER, in-heap VFS) + cJSON, built with
# emscripten 3.1.6 into build/wasm/{syncore.wasm, syncore.mjs}, then placed next to
# js-glue/ (git-ignored copies) so /js-glue/syncore.js and /js-glue/syncore.classic.js
# each find the wasm relative to their own URL (SPEC §8):
#   js-glue/syncore-core.mjs   emscripten's ES-module loader (looks for ./syncore.wasm)
#   js-glue/syncore.wasm       the module
#   js-glue/syncore.classic.js the ES modules bundled into one classic script (self.syncore)
#   js-glue/syncore.bundle.js  the same as one ES module (same exports as syncore.js)
# Until wasm/src/api.c exists the module is a smoke build (VFS + SQLite + cJSON only).

WASM_OUT   := build/wasm
EMCC       := NODE_PATH=/usr/share/nodejs emcc
# Same behaviour-affecting SQLite options as the native build ($(SQLITE_DEFS)), plus the
# browser's OS layer and options that only shrink the module (no SQL of the core or the glue
# calls date(), datetime(), strftime() or julianday(): SQLITE_OMIT_DATETIME_FUNCS, 5 KB gzipped).
WASM_SQLITE_DEFS := $(SQLITE_DEFS) -DSQLITE_OS_OTHER=1 -DSQLITE_THREADSAFE=0 -DSQLITE_TEMP_STORE=3 \
  -DSQLITE_OMIT_UTF16 -DSQLITE_OMIT_COMPLETE -DSQLITE_OMIT_GET_TABLE -DSQLITE_OMIT_TCL_VARIABLE \
  -DSQLITE_OMIT_DESERIALIZE -DSQLITE_OMIT_DECLTYPE -DSQLITE_OMIT_TRACE -DSQLITE_MAX_MMAP_SIZE=0 \
  -DSQLITE_DEFAULT_CACHE_SIZE=-1024 -DSQLITE_UNTESTABLE -DSQLITE_OMIT_INCRBLOB -DSQLITE_OMIT_AUTHORIZATION \
  -DSQLITE_OMIT_COMPILEOPTION_DIAGS -DSQLITE_OMIT_WAL -DSQLITE_OMIT_EXPLAIN -DSQLITE_OMIT_DATETIME_FUNCS -DSQLITE_OMIT_LOCALTIME \
  -DSQLITE_OMIT_INTROSPECTION_PRAGMAS -DSQLITE_OMIT_XFER_OPT -DSQLITE_OMIT_CASE_SENSITIVE_LIKE_PRAGMA \
  -DSQLITE_OMIT_AUTOVACUUM -DSQLITE_OMIT_FLAG_PRAGMAS \
  -DSQLITE_OMIT_AUTOMATIC_INDEX -DSQLITE_OMIT_LIKE_OPTIMIZATION -DSQLITE_OMIT_BETWEEN_OPTIMIZATION \
  -DSQLITE_OMIT_HEX_INTEGER -DSQLITE_OMIT_SHUTDOWN_DIRECTORIES \
  -DSQLITE_OMIT_BLOB_LITERAL -DSQLITE_OMIT_FOREIGN_KEY -DSQLITE_OMIT_CHECK
# (The last three lines: about 6 KB gzipped. Every query of the core and of list/count
# filters on an indexed key or scans one table, so automatic indexes were never built;
# nothing sends LIKE, BETWEEN, hex or blob literals; the schema has no foreign keys or CHECK
# constraints, and the store already ran with foreign_keys off.)
# -mbulk-memory: memcpy/memset as memory.copy/fill (Chromium, Firefox, WebKit all have it):
# +17 % first pass, +30 % tiered-up in bench/perf core pulls, +129 B raw.
WASM_CFLAGS := -Oz -flto -mbulk-memory
WASM_LDFLAGS := -Oz -flto -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB -sINITIAL_MEMORY=16MB \
  -sTOTAL_STACK=1MB -sFILESYSTEM=0 -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createSyncoreModule \
  -sENVIRONMENT=web,worker -sDYNAMIC_EXECUTION=0 -sINCOMING_MODULE_JS_API=wasmBinary,locateFile,instantiateWasm \
  -sEXPORTED_RUNTIME_METHODS=[] -sALLOW_TABLE_GROWTH=0 --js-library wasm/library.js

ifneq ($(wildcard wasm/src/api.c),)
WASM_SRC   := $(wildcard wasm/src/*.c)
WASM_GROUPS := core vfs sql libc
else
WASM_SRC   := wasm/src/vfs_mem.c wasm/src/wasm_exports.c
WASM_GROUPS := vfs sql libc
endif
WASM_OBJ   := $(patsubst wasm/src/%.c,$(WASM_OUT)/obj/%.o,$(WASM_SRC))
WASM_EXPORTS = $(shell node -e 'const e=require("./wasm/exports.json");console.log(JSON.stringify([].concat(...process.argv.slice(1).map(g=>e[g]))))' $(WASM_GROUPS))

$(WASM_OUT)/obj/sqlite3.o: $(SQLITE_C) mk/wasm.mk | deps-wasm
	@mkdir -p $(@D)
	$(EMCC) $(WASM_CFLAGS) $(WASM_SQLITE_DEFS) -c -o $@ $<
$(WASM_OUT)/obj/cJSON.o: $(CJSON_C) mk/wasm.mk | deps-wasm
	@mkdir -p $(@D)
	$(EMCC) $(WASM_CFLAGS) $(CJSON_DEFS) -c -o $@ $<
$(WASM_OUT)/obj/%.o: wasm/src/%.c $(CORE_HDR) $(TP)/.fetched mk/wasm.mk | deps-wasm
	@mkdir -p $(@D)
	$(EMCC) -std=c11 -D_GNU_SOURCE $(WASM_CFLAGS) $(WARN) -Wno-error=unused-command-line-argument \
	  $(WASM_SQLITE_DEFS) -iquote wasm/src -I$(TP)/sqlite -I$(TP)/cjson -c -o $@ $<

# One rule makes both files (the .wasm is named after the loader).
$(WASM_OUT)/syncore.mjs: $(WASM_OBJ) $(WASM_OUT)/obj/sqlite3.o $(WASM_OUT)/obj/cJSON.o wasm/exports.json wasm/library.js
	$(EMCC) $(WASM_LDFLAGS) -sEXPORTED_FUNCTIONS='$(WASM_EXPORTS)' -o $@ $(filter %.o,$^)
	@rm -f $(WASM_OUT)/syncore.wasm.gz.size
$(WASM_OUT)/syncore.wasm: $(WASM_OUT)/syncore.mjs

js-glue/syncore-core.mjs: $(WASM_OUT)/syncore.mjs
	cp $< $@
# (on the loader, made by the same recipe: make does not re-stat the .wasm, a target
# without a recipe, so a rebuilt module would look unchanged and not be copied)
js-glue/syncore.wasm: $(WASM_OUT)/syncore.mjs
	cp $(WASM_OUT)/syncore.wasm $@
# The classic build bundles the ES-module graph of syncore.js; until the lead's syncore.js
# exists, an entry exposing core.js + storage.js (what the browser tests use).
CLASSIC_ENTRY := $(if $(wildcard js-glue/syncore.js),js-glue/syncore.js,$(WASM_OUT)/classic-entry.mjs)
# (classic-entry.mjs is also the fallback while syncore.js's imports do not resolve)
$(WASM_OUT)/classic-entry.mjs:
	@mkdir -p $(@D)
	printf '%s\n' "export { loadCore, SyncoreError } from '../../js-glue/core.js';" \
	  "export { openDatabase, deleteStoredDatabase } from '../../js-glue/storage.js';" > $@
js-glue/syncore.classic.js: js-glue/syncore-core.mjs $(filter-out js-glue/syncore.classic.js js-glue/syncore.bundle.js,$(wildcard js-glue/*.js)) wasm/bundle-classic.mjs $(WASM_OUT)/classic-entry.mjs
	node wasm/bundle-classic.mjs $(CLASSIC_ENTRY) syncore $@ || { \
	  echo "wasm.mk: WARNING: cannot bundle $(CLASSIC_ENTRY); classic build made from core.js + storage.js" >&2; \
	  node wasm/bundle-classic.mjs $(WASM_OUT)/classic-entry.mjs syncore $@; }

# The same graph as one ES module (what an app ships: one request, not a waterfall of ten).
js-glue/syncore.bundle.js: js-glue/syncore-core.mjs $(filter-out js-glue/syncore.classic.js js-glue/syncore.bundle.js,$(wildcard js-glue/*.js)) wasm/bundle-classic.mjs
	node wasm/bundle-classic.mjs --esm js-glue/syncore.js $@

.PHONY: wasm wasm-size
wasm: js-glue/syncore-core.mjs js-glue/syncore.wasm js-glue/syncore.classic.js js-glue/syncore.bundle.js
# Every file a page loads, raw and gzip -9, and the ES-module total against the 350 KB budget.
ES_FILES := js-glue/syncore.wasm js-glue/syncore-core.mjs js-glue/core.js js-glue/storage.js js-glue/storage-idb.js \
            js-glue/storage-opfs.js js-glue/syncore.js js-glue/transport.js js-glue/triggers.js js-glue/sw.js
wasm-size: wasm
	@total=0; for f in $(ES_FILES) js-glue/syncore.classic.js; do \
	  gz=$$(gzip -9c $$f | wc -c); printf '%-28s raw %9d  gzip -9 %9d\n' $$f $$(stat -c %s $$f) $$gz; \
	  case $$f in *classic*) ;; *) total=$$((total + gz));; esac; done; \
	  echo "ES-module build (wasm + loader + glue, each gzipped): $$total bytes (budget 350000)"; \
	  test $$total -lt 350000

ALL_TARGETS += wasm
TEST_TARGETS += wasm-size
