# The C core built natively: a static library and one cmocka test binary per
# tests/c/test_<module>.c. wasm_exports.c is the wasm build's alone (mk/wasm.mk).

CORE_SRC  := $(filter-out wasm/src/wasm_exports.c,$(wildcard wasm/src/*.c))
CORE_OBJ  := $(patsubst wasm/src/%.c,$(NATIVE)/core/%.o,$(CORE_SRC))
CORE_HDR  := $(wildcard wasm/src/*.h)
CORE_LIB  := $(NATIVE)/libsyncore.a
CORE_LIBS := -lm -lpthread -ldl

$(NATIVE)/core/%.o: wasm/src/%.c $(CORE_HDR) $(TP)/.fetched | deps-native
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJ) $(NATIVE)/sqlite3.o $(NATIVE)/cJSON.o
	rm -f $@ && ar rcs $@ $^

# The reference server's push/pull rules in-process (tests/sim/srv_inproc.c): the
# server's protocol and storage modules, without its HTTP layer (http.c, main.c,
# auth, events, …). db.c names the PostgreSQL backend too, hence db_pg.o and -lpq.
SRV_RULES_OBJ  := $(addprefix build/server/,sync.o db.o db_sqlite.o db_pg.o json_guard.o buf.o)
SRV_RULES_LIBS := -lpq -lcrypto
SRV_INPROC_OBJ := $(NATIVE)/tests/srv_inproc.o
CFLAGS_INPROC   = $(CFLAGS_CORE) -Wno-conversion -pthread

$(SRV_INPROC_OBJ): tests/sim/srv_inproc.c tests/sim/srv_inproc.h $(wildcard server/*.h) $(TP)/.fetched | deps-native deps-server
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_INPROC) -c -o $@ $<

TEST_C_SRC := $(wildcard tests/c/test_*.c)
TEST_C_BIN := $(patsubst tests/c/%.c,$(NATIVE)/tests/%,$(TEST_C_SRC))

# Every test links the reference server's push/pull rules (tk_server in sc_testkit.h:
# tests/sim/srv_inproc.c over server/sync.c and db_sqlite.c; mk/sim.mk names the objects).
$(NATIVE)/tests/%: tests/c/%.c $(wildcard tests/c/*.h) tests/sim/srv_inproc.h $(SRV_INPROC_OBJ) $(SRV_RULES_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Wno-conversion -Itests/c -o $@ $< $(SRV_INPROC_OBJ) $(SRV_RULES_OBJ) $(CORE_LIB) -lcmocka \
	  $(SRV_RULES_LIBS) $(CORE_LIBS)

.PHONY: core test-c
core: $(CORE_LIB)
test-c: $(TEST_C_BIN)
	@set -e; for t in $(TEST_C_BIN); do echo "== $$t"; $$t; done

ALL_TARGETS  += core
TEST_TARGETS += test-c

# The same unit tests, core and all, under AddressSanitizer + UBSan (built apart in
# build/native-asan so the normal objects stay as they are): make test-c-asan
ASAN_DIR   := build/native-asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_OBJ   := $(patsubst wasm/src/%.c,$(ASAN_DIR)/core/%.o,$(CORE_SRC))
ASAN_BIN   := $(patsubst tests/c/%.c,$(ASAN_DIR)/tests/%,$(TEST_C_SRC))

$(ASAN_DIR)/core/%.o: wasm/src/%.c $(CORE_HDR) $(TP)/.fetched | deps-native
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) $(ASAN_FLAGS) -c -o $@ $<
# SQLite gets ASan only: UBSan's object-size check flags a known-benign array pick in
# its balance_nonroot() (sqlite3.c, not ours).
$(ASAN_DIR)/sqlite3.o: $(SQLITE_C) | deps-native
	@mkdir -p $(@D)
	$(CC) -O1 -g -fsanitize=address -fno-omit-frame-pointer -c $(SQLITE_DEFS) -DSQLITE_THREADSAFE=1 -o $@ $<
$(ASAN_DIR)/cJSON.o: $(CJSON_C) | deps-native
	@mkdir -p $(@D)
	$(CC) -O1 -g $(ASAN_FLAGS) -c $(CJSON_DEFS) -o $@ $<
# (The server's objects are linked as built for the server, uninstrumented.)
$(ASAN_DIR)/tests/%: tests/c/%.c $(wildcard tests/c/*.h) $(ASAN_OBJ) $(ASAN_DIR)/sqlite3.o $(ASAN_DIR)/cJSON.o $(SRV_INPROC_OBJ) $(SRV_RULES_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) $(ASAN_FLAGS) -Wno-conversion -Itests/c -o $@ $< $(SRV_INPROC_OBJ) $(SRV_RULES_OBJ) $(ASAN_OBJ) \
	  $(ASAN_DIR)/sqlite3.o $(ASAN_DIR)/cJSON.o -lcmocka $(SRV_RULES_LIBS) $(CORE_LIBS)

.PHONY: test-c-asan
test-c-asan: $(ASAN_BIN)
	@set -e; for t in $(ASAN_BIN); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 $$t; done

# make test also compiles the core with the dist flags (-O2 turns on checks -O1 leaves
# off, -Wformat-truncation among them), so `make MODE=dist` cannot break unseen. Objects
# only, apart in build/dist-check; mk/server.mk adds the server's sources.
DIST_CHECK_DIR  := build/dist-check
DIST_OPT        := -O2 -DNDEBUG
DIST_CHECK_OBJ  := $(patsubst wasm/src/%.c,$(DIST_CHECK_DIR)/core/%.o,$(CORE_SRC))

$(DIST_CHECK_DIR)/core/%.o: wasm/src/%.c $(CORE_HDR) $(TP)/.fetched | deps-native
	@mkdir -p $(@D)
	$(CC) $(subst $(OPT),$(DIST_OPT),$(CFLAGS_CORE)) -c -o $@ $<

.PHONY: test-dist-build
test-dist-build: $(DIST_CHECK_OBJ)
	@echo "dist flags ($(DIST_OPT)): $(words $^) C sources compile cleanly"

TEST_TARGETS += test-dist-build
