# tropa: `make run` starts the portal, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := bin/tropa
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
PKGS := ./...

.PHONY: build run test test-short lint clean deps-tor

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

# Everything, including the end-to-end tests over a private Tor network.
test: deps-tor
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 18m $(PKGS)

test-short:
	$(GO) test -count=1 -short $(PKGS)

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin testout
