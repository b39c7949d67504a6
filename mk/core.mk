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

TEST_C_SRC := $(wildcard tests/c/test_*.c)
TEST_C_BIN := $(patsubst tests/c/%.c,$(NATIVE)/tests/%,$(TEST_C_SRC))

$(NATIVE)/tests/%: tests/c/%.c $(wildcard tests/c/*.h) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Wno-conversion -Itests/c -o $@ $< $(CORE_LIB) -lcmocka $(CORE_LIBS)

.PHONY: core test-c
core: $(CORE_LIB)
test-c: $(TEST_C_BIN)
	@set -e; for t in $(TEST_C_BIN); do echo "== $$t"; $$t; done

ALL_TARGETS  += core
TEST_TARGETS += test-c
