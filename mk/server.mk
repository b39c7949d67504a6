# The reference sync server (server/): build/syncore-server on libmicrohttpd,
# SQLite and PostgreSQL (libpq), OpenSSL for JWT HMAC. It links the core's own
# time, hlc, rules and util objects (one core, two hosts: the HLC text, time text, the
# name/id limits and the future tolerance (rules.h) and the
# repeated-key rule live once) rather than the whole library.
#   make server         build/syncore-server
#   make test-server    conformance + concurrency suites, SQLite and PostgreSQL
#   make bench-server   push/pull throughput vs a static file (docs/BENCHMARKS.md)

SERVER_SRC := $(wildcard server/*.c)
SERVER_HDR := $(wildcard server/*.h) wasm/src/time.h wasm/src/hlc.h wasm/src/rules.h wasm/src/util.h wasm/src/syncore.h
SERVER_OBJ := $(patsubst server/%.c,build/server/%.o,$(SERVER_SRC))
SERVER_BIN := build/syncore-server
PQ_CFLAGS   = $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
# -iquote: wasm/src/time.h must not shadow the system <time.h>.
CFLAGS_SERVER = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -pthread -iquote wasm/src \
                -I$(TP)/sqlite -I$(TP)/cjson $(PQ_CFLAGS)

build/server/%.o: server/%.c $(SERVER_HDR) $(TP)/.fetched | deps-server deps-native
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SERVER) -c -o $@ $<

$(SERVER_BIN): $(SERVER_OBJ) $(NATIVE)/core/time.o $(NATIVE)/core/hlc.o $(NATIVE)/core/rules.o $(NATIVE)/core/util.o $(NATIVE)/sqlite3.o $(NATIVE)/cJSON.o
	$(CC) -pthread -o $@ $^ -lmicrohttpd -lpq -lcrypto -lm -ldl

.PHONY: server test-server bench-server bench
server: $(SERVER_BIN)
test-server: $(SERVER_BIN) | deps-server deps-browser-node
	node tests/server/run.mjs $(SERVER_TEST_ARGS)
bench-server: $(SERVER_BIN) | deps-server
	BENCH_MODE=$(MODE) ./bench/server/run.sh
bench: bench-server

# node alone (the suites use only node's standard library: global fetch, child_process).
.PHONY: deps-browser-node
deps-browser-node:
	@command -v node >/dev/null || ./scripts/deps.sh browser

# The dist-flags compile check of mk/core.mk covers the server's sources too.
DIST_CHECK_OBJ += $(patsubst server/%.c,$(DIST_CHECK_DIR)/server/%.o,$(SERVER_SRC))
$(DIST_CHECK_DIR)/server/%.o: server/%.c $(SERVER_HDR) $(TP)/.fetched | deps-server deps-native
	@mkdir -p $(@D)
	$(CC) $(subst $(OPT),$(DIST_OPT),$(CFLAGS_SERVER)) -c -o $@ $<
test-dist-build: $(filter $(DIST_CHECK_DIR)/server/%,$(DIST_CHECK_OBJ))

ALL_TARGETS  += server
TEST_TARGETS += test-server
