# The demo farm PWA (demo/) and syncore's drop-in UI parts (js-glue/ui/).
#   make demo        build, stage demo/ + js-glue/ into build/demo/www (only what a browser
#                    may see: the JWT secret stays outside it), start the reference server
#                    on the embedded SQLite store with --dev tokens, print the URL.
#                    DEMO_PORT=8080 by default; Ctrl-C stops it.
#   make test-demo   headless Chromium clicks through the demo and the UI parts (tests/demo/)
#   make ui-size     js-glue/ui/ gzipped against its 12 KB budget
DEMO_PORT ?= 8080
DEMO_DIR  := build/demo
DEMO_WWW  := $(DEMO_DIR)/www
UI_FILES  := $(wildcard js-glue/ui/*.js)
UI_BUDGET := 12288

.PHONY: demo demo-stage test-demo ui-size
# shell.json: what the service worker caches on install, every file the app can load.
demo-stage: wasm | deps-browser-node
	@mkdir -p $(DEMO_WWW)
	@rm -rf $(DEMO_WWW)/demo $(DEMO_WWW)/js-glue
	@mkdir -p $(DEMO_WWW)/js-glue
	@cp -r demo $(DEMO_WWW)/ && rm -rf $(DEMO_WWW)/demo/tools
	@cp js-glue/*.js js-glue/*.mjs js-glue/syncore.wasm $(DEMO_WWW)/js-glue/ && cp -r js-glue/ui $(DEMO_WWW)/js-glue/
	@rm -f $(DEMO_WWW)/js-glue/syncore.classic.js
	@node demo/tools/make-icons.mjs $(DEMO_WWW)/demo/icons
	@cd $(DEMO_WWW)/demo && find . ../js-glue -type f ! -path ./sw.js ! -path ./shell.json | LC_ALL=C sort | \
	  node -e 'const f=require("fs").readFileSync(0,"utf8").trim().split("\n");console.log(JSON.stringify({files:["./",...f]}))' > shell.json
	@[ -f $(DEMO_DIR)/jwt-secret ] || head -c 32 /dev/urandom | base64 > $(DEMO_DIR)/jwt-secret

demo: demo-stage server
	@echo ""
	@echo "  syncore demo farm:  http://127.0.0.1:$(DEMO_PORT)/demo/"
	@echo "  a second device:    http://127.0.0.1:$(DEMO_PORT)/demo/?device=b"
	@echo "  (server: build/syncore-server, SQLite at $(DEMO_DIR)/demo.db; Ctrl-C stops it)"
	@echo ""
	$(SERVER_BIN) --listen 127.0.0.1:$(DEMO_PORT) --db sqlite:$(DEMO_DIR)/demo.db \
	  --jwt-secret-file $(DEMO_DIR)/jwt-secret --static $(DEMO_WWW) --dev

ui-size:
	@total=0; for f in $(UI_FILES); do gz=$$(gzip -9c $$f | wc -c); total=$$((total + gz)); \
	  printf '%-28s raw %7d  gzip -9 %6d\n' $$f $$(stat -c %s $$f) $$gz; done; \
	  echo "syncore/ui (js-glue/ui/*.js, each gzipped): $$total bytes (budget $(UI_BUDGET))"; \
	  test $$total -le $(UI_BUDGET)

test-demo: demo-stage server ui-size | deps-browser
	node tests/demo/run.mjs

TEST_TARGETS += ui-size test-demo
