# make demo: build the wasm module and the server, stage the demo and js-glue into
# build/demo/www (only what a browser may see: the JWT secret stays outside it), start
# the server on the embedded SQLite store with --dev tokens, and print the URL.
# DEMO_PORT=8080 by default; Ctrl-C stops it.
DEMO_PORT ?= 8080
DEMO_DIR  := build/demo

.PHONY: demo demo-stage
demo-stage: wasm
	@mkdir -p $(DEMO_DIR)/www
	@rm -rf $(DEMO_DIR)/www/demo $(DEMO_DIR)/www/js-glue
	@cp -r demo js-glue $(DEMO_DIR)/www/
	@[ -f $(DEMO_DIR)/jwt-secret ] || head -c 32 /dev/urandom | base64 > $(DEMO_DIR)/jwt-secret
demo: demo-stage server
	@echo "syncore demo: http://127.0.0.1:$(DEMO_PORT)/demo/"
	$(SERVER_BIN) --listen 127.0.0.1:$(DEMO_PORT) --db sqlite:$(DEMO_DIR)/demo.db \
	  --jwt-secret-file $(DEMO_DIR)/jwt-secret --static $(DEMO_DIR)/www --dev
