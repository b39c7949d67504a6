# Fuzzing with clang 14's libFuzzer (+ ASan/UBSan). Everything is compiled with
# clang into build/fuzz/ — our core, SQLite and cJSON — so the sanitizers see it all.
#   make fuzz FUZZ_SECONDS=N   run each target N seconds (default 60)
#   make test-fuzz             smoke run, ~20 s per target (part of make test)
# Corpora grow in build/fuzz/corpus-<target>/; seeds live in tests/fuzz/seeds/<target>/.
# fuzz_pull / fuzz_push / fuzz_api drive the core's API (wasm/src/api.c) and are built once it exists.
# fuzz_server drives the server's request handling below HTTP (push/pull bodies, cursors,
# query values, tokens: tests/fuzz/fuzz_server.c) on a real SQLite pool.

FUZZ_DIR      := build/fuzz
FUZZ_CC       := clang
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 $(FUZZ_SAN) -iquote wasm/src -I$(TP)/sqlite -I$(TP)/cjson
FUZZ_SECONDS  ?= 60
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_TARGETS  := time
ifneq ($(wildcard wasm/src/api.c),)
FUZZ_TARGETS  += pull push api
endif
FUZZ_TARGETS  += server
FUZZ_BINS     := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_CORE_OBJ := $(patsubst wasm/src/%.c,$(FUZZ_DIR)/core/%.o,$(CORE_SRC))
.SECONDARY: $(FUZZ_CORE_OBJ)

$(FUZZ_DIR)/core/%.o: wasm/src/%.c $(CORE_HDR) $(TP)/.fetched | deps-native
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(WARN) -Wno-unknown-warning-option -c -o $@ $<
$(FUZZ_DIR)/sqlite3.o: $(SQLITE_C) | deps-native
	@mkdir -p $(@D)
	$(FUZZ_CC) -g -O1 $(FUZZ_SAN) -c $(SQLITE_DEFS) -DSQLITE_THREADSAFE=0 -o $@ $<
$(FUZZ_DIR)/cJSON.o: $(CJSON_C) | deps-native
	@mkdir -p $(@D)
	$(FUZZ_CC) -g -O1 $(FUZZ_SAN) -c $(CJSON_DEFS) -o $@ $<

$(FUZZ_DIR)/fuzz_time: tests/fuzz/fuzz_time.c $(FUZZ_DIR)/core/time.o $(FUZZ_DIR)/core/hlc.o
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_store.h $(FUZZ_CORE_OBJ) $(FUZZ_DIR)/sqlite3.o $(FUZZ_DIR)/cJSON.o
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< $(FUZZ_CORE_OBJ) $(FUZZ_DIR)/sqlite3.o $(FUZZ_DIR)/cJSON.o -lm -lpthread -ldl

# The server's protocol code (no HTTP: http.c, events.c, files.c, conns.c stay out).
FUZZ_SERVER_SRC := server/sync.c server/auth.c server/buf.c server/json_guard.c server/db.c \
                   server/db_sqlite.c server/db_pg.c
FUZZ_SERVER_OBJ := $(patsubst server/%.c,$(FUZZ_DIR)/server/%.o,$(FUZZ_SERVER_SRC))
FUZZ_PQ_CFLAGS   = $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
.SECONDARY: $(FUZZ_SERVER_OBJ)
$(FUZZ_DIR)/server/%.o: server/%.c $(wildcard server/*.h) wasm/src/util.h $(TP)/.fetched | deps-native deps-server
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread $(FUZZ_PQ_CFLAGS) -fsanitize=fuzzer-no-link $(WARN) -Wno-unknown-warning-option -c -o $@ $<
$(FUZZ_DIR)/fuzz_server: tests/fuzz/fuzz_server.c $(FUZZ_SERVER_OBJ) $(FUZZ_DIR)/core/time.o $(FUZZ_DIR)/core/hlc.o $(FUZZ_DIR)/core/rules.o $(FUZZ_DIR)/core/util.o $(FUZZ_DIR)/sqlite3.o $(FUZZ_DIR)/cJSON.o
	$(FUZZ_CC) -iquote server $(FUZZ_CFLAGS) -pthread $(FUZZ_PQ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lpq -lcrypto -lm -ldl

# Each target: corpus in build/fuzz/corpus-<t>/, seeds read-only from tests/fuzz/seeds/<t>/.
# A crash leaves build/fuzz/crash-<t>-<hash> (replay: build/fuzz/fuzz_<t> FILE).
FUZZ_RUN = set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus-$$t; echo "== fuzz_$$t for $(1) s"; \
	  $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(1) -max_len=65536 -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/crash-$$t- $(FUZZ_DIR)/corpus-$$t tests/fuzz/seeds/$$t \
	    > $(FUZZ_DIR)/fuzz_$$t.log 2>&1 || { tail -n 40 $(FUZZ_DIR)/fuzz_$$t.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|DONE' $(FUZZ_DIR)/fuzz_$$t.log | tail -n 2; \
	done

.PHONY: fuzz fuzz-build test-fuzz
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	@$(call FUZZ_RUN,$(FUZZ_SECONDS))
test-fuzz: fuzz-build
	@$(call FUZZ_RUN,$(FUZZ_SMOKE_SECONDS))

TEST_TARGETS += test-fuzz
