# The five seed apps end to end (tests/seeds/, issue 9): headless Debian Chromium, a browser
# context per device, the real build/syncore-server; the REST and delta adapters against
# stand-ins of seed 000's and seed 001's backends (tests/seeds/standins/); Live (poke) and
# Faults (tests/seeds/fault-proxy.mjs). `make test-seeds SEEDS_ONLY=003` runs one file;
# SEEDS_SEED=n replays the seeded scenarios, SEEDS_FULL=1 gives the delta adapter the 5 MB farm too (default 0.5 MB).
.PHONY: test-seeds
test-seeds: wasm server | deps-browser
	node tests/seeds/run.mjs $(SEEDS_ONLY)

TEST_TARGETS += test-seeds
