# The suites on every browser engine (tests/engines/launch.mjs, docs/BROWSERS.md): Debian's
# Chromium (playwright-core), Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK's
# MiniBrowser (selenium-webdriver + WebKitWebDriver, under xvfb-run).
#   make test-engines        everything on all three: the API suite in every context, storage
#                            durability and contexts, the seed scenarios and the Background
#                            Sync fallback against the real server, and the demo clicked through
#                            (tests/demo/run.mjs on Chromium, tests/demo/engines.mjs elsewhere)
#   make test-engines-fast   the cross-engine subset make test runs on Firefox and WebKit (the
#                            Chromium runs are test-browser and test-js): the whole API suite
#                            in window, module worker and module service worker on idb, SIGKILL
#                            and a restart on the same profile, two pages and a worker, a
#                            conflict resolved, the fallback triggers (start-up after a restart),
#                            a quick open (Firefox has JSPI; WebKit reads the store whole)
# Installs its own deps: firefox-esr, webkit2gtk-driver, xvfb (apt) and the npm drivers.
ENGINES_ALL  ?= chromium firefox webkit
ENGINES_FAST ?= firefox webkit

.PHONY: deps-engines test-engines test-engines-fast
deps-engines: ; ./scripts/deps.sh engines
test-engines: wasm server demo-stage | deps-engines
	@set -e; for e in $(ENGINES_ALL); do \
	  node tests/js/run.mjs --engine $$e; node tests/e2e/run.mjs --engine $$e; node tests/js/sync-e2e.mjs --engine $$e; \
	  case $$e in chromium) node tests/demo/run.mjs ;; *) node tests/demo/engines.mjs --engine $$e ;; esac; done
test-engines-fast: wasm server | deps-engines
	@set -e; for e in $(ENGINES_FAST); do \
	  node tests/js/run.mjs --engine $$e --fast; node tests/e2e/run.mjs --engine $$e --fast; node tests/js/sync-e2e.mjs --engine $$e --fast; done

TEST_TARGETS += test-engines-fast
