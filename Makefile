# tropa: `make run` starts the portal, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := bin/tropa
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
PKGS := ./...

.PHONY: build run test test-short lint clean deps-tor deps-browser

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tropa

# tor must be installed for the onion; on Debian, as root, we install it.
deps-tor:
	@command -v tor >/dev/null 2>&1 || test -x /usr/sbin/tor || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing tor (apt-get install -y tor)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tor >/dev/null; \
	  else \
	    echo "tor is not installed: on Debian run 'sudo apt-get install -y tor' (or use: $(BIN) serve --tor=false --http 127.0.0.1:8080)"; exit 1; \
	  fi; }

run: build deps-tor
	$(BIN) serve --http 127.0.0.1:8080

# The browser tests (internal/browser, e2e/browser_test.go) need Chromium,
# ip (iproute2) to bring up loopback in their namespace, and axe-core from
# npm (package-lock.json); on Debian, as root, we install what is missing.
deps-browser:
	@missing=""; \
	test -x /usr/lib/chromium/chromium || test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v ip >/dev/null 2>&1 || test -x /usr/sbin/ip || missing="$$missing iproute2"; \
	test -f node_modules/axe-core/axe.min.js || command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (apt-get install -y$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing for the browser tests:$$missing: on Debian run 'sudo apt-get install -y$$missing'"; exit 1; \
	  fi; \
	fi
	@test -f node_modules/axe-core/axe.min.js || { echo "installing axe-core (npm ci)"; npm ci --no-audit --no-fund --loglevel=error; }

# Everything, including the end-to-end tests over a private Tor network and
# the browser tests. Modules are fetched and the code vetted first, outside;
# then the tests run in a network namespace that has only loopback, so
# neither tor nor Chromium (which connects out when it starts) can reach
# anything beyond 127.0.0.1. Without a namespace the browser tests skip.
test: deps-tor deps-browser
	$(GO) mod download
	$(GO) vet $(PKGS)
	@PATH="$$PATH:/usr/sbin"; ns=""; \
	if [ "$$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then ns="unshare -n"; \
	elif unshare -rn true 2>/dev/null; then ns="unshare -rn"; fi; \
	if [ -n "$$ns" ]; then \
	  echo "running the tests in a loopback-only network namespace ($$ns)"; \
	  $$ns sh -c 'ip link set lo up && GOPROXY=off exec $(GO) test -count=1 -timeout 18m $(PKGS)'; \
	else \
	  echo "WARNING: cannot make a network namespace (unshare -n needs root, unshare -rn user namespaces):"; \
	  echo "WARNING: running the tests without one; the browser tests skip themselves"; \
	  $(GO) test -count=1 -timeout 18m $(PKGS); \
	fi
	# A short fuzz run of the text pipeline (Markdown → sanitised HTML).
	$(GO) test -run '^$$' -fuzz '^FuzzRender$$' -fuzztime 10s ./forum/

test-short:
	$(GO) test -count=1 -short $(PKGS)

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin testout
