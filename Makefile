# Hearth: `make demo` sets up and shows a node working; `make test` runs the whole suite.
SWIFT ?= swift
APT_PACKAGES := libsodium-dev libsqlite3-dev libexif-dev libvips-dev libraw-dev pkg-config ffmpeg faketime
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release demo test bench clean

## Install the Debian packages that are missing (needs root or sudo).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product hearth

## Import generated photos, make an album, export, verify; then a second node joins and syncs.
demo: release
	HEARTH=$$($(SWIFT) build -c release --show-bin-path)/hearth bash scripts/demo.sh

## Every test: unit, property, corpus (when ../shared/corpus exists) and end-to-end through the binary.
# Three runs, so that no suite starves another's timers on a 2-core machine: CPU-bound suites
# (the sans-IO sync and handshake machines among them); the in-process network suites (async,
# real sockets, handshake timeouts); then the end-to-end suites, which block test threads while
# real `hearth` processes run.
CPU_SUITES := HearthCryptoTests|WireTests|ChunkStoreTests|CatalogTests|MediaTests|SyncEngineTests|SimulatorTests
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter '$(CPU_SUITES)'
	$(SWIFT) test --skip-build --filter 'TransportTests'
	$(SWIFT) test --skip-build --filter 'NodeTests'

bench: deps
	bash scripts/bench.sh

clean:
	rm -rf .build
