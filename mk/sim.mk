# The deterministic simulation (tests/sim/, docs/SIMULATION.md): devices running
# the real core against an in-process server model over a faulty network.
#   make sim SEEDS=N [SEED=S]   run seeds S … S+N-1 (default 1 … 200); a failing seed
#                               prints "sim: seed S FAILED: <why>"; replay it with
#                               make sim SEEDS=1 SEED=S SIM_FLAGS=--verbose
#   make test-sim               500 seeds (part of make test)

SIM_SRC   := $(wildcard tests/sim/*.c)
SIM_BIN   := $(NATIVE)/sim
SEEDS     ?= 200
SEED      ?= 1
SIM_FLAGS ?=
SIM_TEST_SEEDS ?= 500

$(SIM_BIN): $(SIM_SRC) $(wildcard tests/sim/*.h) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Wno-conversion -Itests/sim -o $@ $(SIM_SRC) $(CORE_LIB) $(CORE_LIBS)

.PHONY: sim test-sim
sim: $(SIM_BIN)
	$(SIM_BIN) --seeds $(SEEDS) --seed $(SEED) $(SIM_FLAGS)
test-sim: $(SIM_BIN)
	$(SIM_BIN) --seeds $(SIM_TEST_SEEDS) --seed 1

TEST_TARGETS += test-sim
