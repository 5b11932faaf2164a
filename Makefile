# tropa: `make run` starts the portal, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := bin/tropa
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
PKGS := ./...

.PHONY: build run test test-short lint clean deps-tor deps-browser deps-onionbalance

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

# Several tors behind one address (tropa serve --tor-instances N, N > 1, and
# the e2e/balance tests) need Debian's onionbalance (Python, runs on
# /usr/bin/python3 with python3-stem); on Debian, as root, we install it.
# Its own system service stays off: it starts only with
# /etc/onionbalance/config.yaml, which nothing here writes.
deps-onionbalance:
	@command -v onionbalance >/dev/null 2>&1 || test -x /usr/sbin/onionbalance || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing onionbalance (apt-get install -y onionbalance)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq onionbalance >/dev/null; \
	  else \
	    echo "onionbalance is not installed: on Debian run 'sudo apt-get install -y onionbalance' (the e2e/balance tests need it)"; exit 1; \
	  fi; }

run: build deps-tor
	$(BIN) serve --http 127.0.0.1:8080

# The browser tests (internal/browser, e2e/browser_test.go) need Chromium,
# the Gecko ones (internal/gecko, e2e/gecko_*_test.go) firefox-esr, the
# engine under Tor Browser; both need ip (iproute2) to bring up loopback in
# their namespace, and axe-core comes from npm (package-lock.json); on
# Debian, as root, we install what is missing.
deps-browser:
	@missing=""; \
	test -x /usr/lib/chromium/chromium || test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -x /usr/lib/firefox-esr/firefox-esr || test -x /usr/bin/firefox-esr || missing="$$missing firefox-esr"; \
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
test: deps-tor deps-browser deps-onionbalance
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

# Benchmarks (bench/ writes BENCHMARKS.md): the production binary against
# nginx on the same bytes, durable posting, 1 thousand vs 1 million posts,
# page weights, the onion over a private Tor network, and one tor vs two
# behind Onionbalance (bin/tropa-balance), all on 127.0.0.1.
# About 10 minutes (a hard limit of 14); not part of `make test`. wrk and nginx are installed
# when missing (as root; nginx's own service is kept from starting). In a
# loopback-only network namespace when one can be made, like `make test`.
# Pass options with BENCHFLAGS, e.g. make bench BENCHFLAGS='-only p1,p5'.
.PHONY: bench
BENCHFLAGS ?=
bench: build deps-tor deps-onionbalance
	@missing=""; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (apt-get install -y$$missing)"; \
	    if [ ! -e /usr/sbin/policy-rc.d ]; then \
	      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && \
	      trap 'rm -f /usr/sbin/policy-rc.d' EXIT; \
	    fi; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing for the benchmarks:$$missing: on Debian run 'sudo apt-get install -y$$missing'"; exit 1; \
	  fi; \
	fi
	$(GO) build -o bin/tropa-bench ./bench
	$(GO) build -o bin/tropa-balance ./bench/balance
	@PATH="$$PATH:/usr/sbin"; ns=""; \
	if [ "$$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then ns="unshare -n"; \
	elif unshare -rn true 2>/dev/null; then ns="unshare -rn"; fi; \
	if [ -n "$$ns" ]; then \
	  echo "running the benchmarks in a loopback-only network namespace ($$ns)"; \
	  $$ns sh -c 'ip link set lo up && exec bin/tropa-bench -tropa $(BIN) -out BENCHMARKS.md $(BENCHFLAGS)'; \
	else \
	  bin/tropa-bench -tropa $(BIN) -out BENCHMARKS.md $(BENCHFLAGS); \
	fi

# Install as a hardened systemd service (as root): the binary in
# /usr/local/bin, the unit deploy/tropa.service, the system user tropa,
# /etc/tropa/tropa.toml (from `tropa config example`, kept if it exists),
# /var/backups/tropa for backups; the data goes to /var/lib/tropa.
# `make uninstall` removes the binary and the unit and keeps every piece
# of data, configuration and the user.
.PHONY: install uninstall
PREFIX ?= /usr/local
install: build deps-tor
	@test "$$(id -u)" = 0 || { echo "make install needs root (sudo make install)"; exit 1; }
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/tropa
	install -D -m 0644 deploy/tropa.service $(DESTDIR)/etc/systemd/system/tropa.service
	@getent passwd tropa >/dev/null || { echo "creating the system user tropa"; \
	  useradd --system --user-group --home-dir /var/lib/tropa --no-create-home --shell /usr/sbin/nologin tropa; }
	install -d -m 0750 -o root -g tropa $(DESTDIR)/etc/tropa
	@if [ -e $(DESTDIR)/etc/tropa/tropa.toml ]; then echo "keeping /etc/tropa/tropa.toml"; \
	else $(BIN) config example > $(DESTDIR)/etc/tropa/tropa.toml.new && chmod 0640 $(DESTDIR)/etc/tropa/tropa.toml.new && \
	  chgrp tropa $(DESTDIR)/etc/tropa/tropa.toml.new && mv $(DESTDIR)/etc/tropa/tropa.toml.new $(DESTDIR)/etc/tropa/tropa.toml && \
	  echo "wrote /etc/tropa/tropa.toml"; fi
	install -d -m 0700 -o tropa -g tropa $(DESTDIR)/var/lib/tropa $(DESTDIR)/var/backups/tropa
	$(DESTDIR)$(PREFIX)/bin/tropa config check $(DESTDIR)/etc/tropa/tropa.toml
	@if [ -d /run/systemd/system ]; then systemctl daemon-reload; \
	  echo "installed. Start it with: systemctl enable --now tropa; then: journalctl -u tropa -f"; \
	else echo "installed (systemd is not running here: start it with systemctl enable --now tropa on the server)"; fi

uninstall:
	@test "$$(id -u)" = 0 || { echo "make uninstall needs root"; exit 1; }
	-@if [ -d /run/systemd/system ]; then systemctl disable --now tropa 2>/dev/null; fi
	rm -f $(DESTDIR)$(PREFIX)/bin/tropa $(DESTDIR)/etc/systemd/system/tropa.service
	-@if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "kept /var/lib/tropa (data and keys), /var/backups/tropa, /etc/tropa and the user tropa: remove them yourself once you have a backup"
