# The deterministic simulation (tests/sim/, docs/SIMULATION.md): devices running
# the real core against the real server rules (server/sync.c over server/db_sqlite.c
# on an in-heap database, tests/sim/srv_inproc.c) over a faulty network, judged by
# an oracle of SPEC's conflict semantics.
#   make sim SEEDS=N [SEED=S]   run seeds S … S+N-1 (default 1 … 200); a failing seed
#                               prints "sim: seed S FAILED: <why>"; replay it with
#                               make sim SEEDS=1 SEED=S SIM_FLAGS=--verbose
#   make test-sim               500 seeds (part of make test)
#   make sim-mutants            the judge's mutants (deliberately broken cores, built
#                               apart): each must fail a seed of the default SEEDS
#                               (part of make test)

SIM_BIN   := $(NATIVE)/sim
SIM_MUT_BIN := $(NATIVE)/sim-mutants
SEEDS     ?= 200
SEED      ?= 1
SIM_FLAGS ?=
SIM_TEST_SEEDS ?= 500
SIM_MUTANTS := remote-wins no-archive lost-ask drop-op coalesce-inflight

# SRV_RULES_OBJ / SRV_INPROC_OBJ (the server's rules, in-process): mk/core.mk, which
# the unit tests' rule needs them in first.

$(SIM_BIN): tests/sim/sim.c $(wildcard tests/sim/*.h) $(SRV_INPROC_OBJ) $(SRV_RULES_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Wno-conversion -Itests/sim -o $@ tests/sim/sim.c $(SRV_INPROC_OBJ) $(SRV_RULES_OBJ) \
	  $(CORE_LIB) $(SRV_RULES_LIBS) $(CORE_LIBS)

# The mutants: the same sim, the core's merge and outbox entry points wrapped
# (ld --wrap, tests/sim/mutants.c) so a --mutant flag can break them. Never linked
# into anything shipped; the plain sim binary has no wrapper at all.
SIM_WRAP := -Wl,--wrap=merge_incoming -Wl,--wrap=outbox_note_write
$(SIM_MUT_BIN): tests/sim/sim.c tests/sim/mutants.c $(wildcard tests/sim/*.h) $(SRV_INPROC_OBJ) $(SRV_RULES_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Wno-conversion -DSIM_MUTANTS -Itests/sim -o $@ tests/sim/sim.c tests/sim/mutants.c \
	  $(SRV_INPROC_OBJ) $(SRV_RULES_OBJ) $(CORE_LIB) $(SIM_WRAP) $(SRV_RULES_LIBS) $(CORE_LIBS)

.PHONY: sim test-sim sim-mutants
sim: $(SIM_BIN)
	$(SIM_BIN) --seeds $(SEEDS) --seed $(SEED) $(SIM_FLAGS)
test-sim: $(SIM_BIN)
	$(SIM_BIN) --seeds $(SIM_TEST_SEEDS) --seed 1
# Each mutant must be caught: the run stops at its first failing seed and says which.
sim-mutants: $(SIM_MUT_BIN)
	@set -e; for m in $(SIM_MUTANTS); do \
	  if out=$$($(SIM_MUT_BIN) --mutant $$m --seeds $(SEEDS) --seed $(SEED) --first-failure); then \
	    echo "sim-mutants: mutant $$m NOT caught in $(SEEDS) seeds"; exit 1; \
	  else echo "sim-mutants: mutant $$m caught: $$(echo "$$out" | grep -m1 FAILED)"; fi; done

TEST_TARGETS += test-sim sim-mutants
