# syncore — one plain Makefile; each part of the project adds its targets in mk/<part>.mk.
#   make          build everything (native core, wasm module, server)
#   make test     every test: native unit tests, simulation, fuzz smoke, server, browser
#   make demo     build and start the demo on the embedded SQLite server
#   make bench    benchmarks, figures into docs/BENCHMARKS.md
# Third-party sources are fetched pinned into build/third_party by scripts/fetch.sh.

SHELL := /bin/bash
.DEFAULT_GOAL := all

TP        := build/third_party
NATIVE    := build/native
SQLITE_C  := $(TP)/sqlite/sqlite3.c
CJSON_C   := $(TP)/cjson/cJSON.c

CC        ?= gcc
WARN      := -Wall -Wextra -Wshadow -Wconversion -Werror
MODE      ?= debug
ifeq ($(MODE),dist)
OPT       := -O2 -DNDEBUG
else
OPT       := -O1 -g
endif
# Our code: strict warnings. Third-party code: theirs, compiled without -Werror.
CFLAGS_CORE := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -iquote wasm/src -I$(TP)/sqlite -I$(TP)/cjson
# SQLite as the core uses it, the same options in the native and wasm builds (must match mk/wasm.mk).
SQLITE_DEFS := -DSQLITE_DQS=0 -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_OMIT_LOAD_EXTENSION \
               -DSQLITE_OMIT_DEPRECATED -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_PROGRESS_CALLBACK \
               -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_MAX_EXPR_DEPTH=0 -DSQLITE_USE_ALLOCA
CJSON_DEFS  := -DCJSON_NESTING_LIMIT=64

ALL_TARGETS  :=
TEST_TARGETS :=

$(TP)/.fetched: scripts/fetch.sh | deps-native
	./scripts/fetch.sh $(TP)
	touch $@
$(SQLITE_C) $(CJSON_C): $(TP)/.fetched

.PHONY: deps deps-native deps-wasm deps-browser deps-server
deps: deps-native deps-wasm deps-browser deps-server
deps-native:  ; ./scripts/deps.sh native
deps-wasm:    ; ./scripts/deps.sh wasm
deps-browser: ; ./scripts/deps.sh browser
deps-server:  ; ./scripts/deps.sh server

$(NATIVE)/sqlite3.o: $(SQLITE_C) | deps-native
	@mkdir -p $(@D)
	$(CC) -O2 -g -c $(SQLITE_DEFS) -DSQLITE_THREADSAFE=1 -o $@ $<
$(NATIVE)/cJSON.o: $(CJSON_C) | deps-native
	@mkdir -p $(@D)
	$(CC) -O2 -g -c $(CJSON_DEFS) -o $@ $<

-include mk/*.mk

.PHONY: all test clean
all: $(ALL_TARGETS)
test: $(TEST_TARGETS)
	@echo "make test: all passed ($(TEST_TARGETS))"
clean:
	rm -rf build/native build/wasm build/server build/test
