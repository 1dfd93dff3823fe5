# Hearth: `make demo` sets up and shows a node working; `make test` runs the whole suite.
SWIFT ?= swift
APT_PACKAGES := libsodium-dev libsqlite3-dev libexif-dev libvips-dev libraw-dev pkg-config ffmpeg faketime python3-cryptography python3-pip python3-venv curl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps client-deps immich-deps build release demo test bench clean previous-release

## Install the Debian packages that are missing (needs root or sudo).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

## PyPI's noiseprotocol for protocol/client (into .cache/pypi, not the system's Python); its one
# dependency, cryptography, and pip come from Debian (make deps). Skipped when PyPI is unreachable.
CLIENT_PIP := env PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip
client-deps:
	@if [ -d .cache/pypi/lib/noise ]; then :; \
	elif ! python3 -m pip --version >/dev/null 2>&1; then \
	  echo "warning: python3 has no pip (make deps installs python3-pip); the client end-to-end test will be skipped" >&2; \
	else mkdir -p .cache/pypi/wheels && \
	  timeout 120 $(CLIENT_PIP) download -q --retries 1 --timeout 20 --no-deps -d .cache/pypi/wheels noiseprotocol==0.3.1 && \
	  $(CLIENT_PIP) install -q --no-deps --no-index --target .cache/pypi/lib .cache/pypi/wheels/noiseprotocol-0.3.1-py3-none-any.whl \
	  || echo "warning: noiseprotocol could not be fetched from PyPI; the client end-to-end test will be skipped" >&2; \
	fi

## Immich's typed Python client (immichpy, pinned) in .cache/immich-venv, for Tests/immich; skipped when PyPI is unreachable.
IMMICHPY := immichpy==9.2.4
immich-deps:
	@[ -x .cache/immich-venv/bin/python ] && .cache/immich-venv/bin/python -c 'import immichpy' 2>/dev/null || { \
	  rm -rf .cache/immich-venv && python3 -m venv .cache/immich-venv && \
	  timeout 300 .cache/immich-venv/bin/python -m pip install -q $(IMMICHPY); } \
	  || echo "warning: $(IMMICHPY) could not be installed from PyPI; the Immich client end-to-end test will be skipped" >&2

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product hearth

## Import generated photos, make an album, export, verify; then a second node joins and syncs.
demo: release
	HEARTH=$$($(SWIFT) build -c release --show-bin-path)/hearth bash scripts/demo.sh

## The hearth binary of the last release (debug build), for the mixed-release tests; prints its path.
# Built from `git archive` of that commit (a clone has the history) into .cache/, once.
PREVIOUS_RELEASE := 6847644
PREVIOUS_SRC := .cache/previous-release/src
PREVIOUS_BIN := $(abspath $(PREVIOUS_SRC))/.build/debug/hearth
previous-release:
	@if [ ! -x "$(PREVIOUS_BIN)" ]; then \
	  echo "building hearth of release $(PREVIOUS_RELEASE) in $(PREVIOUS_SRC)" >&2; \
	  rm -rf "$(PREVIOUS_SRC)" && mkdir -p "$(PREVIOUS_SRC)" && \
	  git archive --format=tar $(PREVIOUS_RELEASE) | tar -x -C "$(PREVIOUS_SRC)" && \
	  (cd "$(PREVIOUS_SRC)" && $(SWIFT) build --product hearth) >&2 || exit 1; \
	fi
	@echo "$(PREVIOUS_BIN)"

## Every test: unit, property, corpus (when ../shared/corpus exists) and end-to-end through the binary.
# Separate runs, so that no suite starves another's timers on a 2-core machine: CPU-bound suites
# (the sans-IO sync and handshake machines among them); the in-process network suites (async,
# real sockets, handshake timeouts); the HTTP API's routes in process; then the end-to-end suites
# (the HTTP API's, then the node's), which block test threads while real `hearth` processes run. The end-to-end suites include sync with a node running the
# previous release (HEARTH_PREVIOUS_RELEASE). Before them, the batch vectors are checked by an
# implementation written from SPEC.md alone (protocol/vectors/check_batches.py).
CPU_SUITES := HearthCryptoTests|WireTests|ChunkStoreTests|CatalogTests|MediaTests|SyncEngineTests|SimulatorTests
test: deps
	@$(MAKE) -s previous-release >/dev/null || echo "warning: the previous release did not build; its tests will be reported skipped" >&2
	@$(MAKE) -s client-deps
	@$(MAKE) -s immich-deps
	$(SWIFT) build --build-tests
	python3 protocol/vectors/check_batches.py
	$(SWIFT) test --skip-build --filter '$(CPU_SUITES)'
	$(SWIFT) test --skip-build --filter 'TransportTests'
	$(SWIFT) test --skip-build --filter 'HTTPAPITests' --skip 'EndToEndTests'
	$(SWIFT) test --skip-build --filter 'HTTPAPITests\..*EndToEndTests'
	HEARTH_PREVIOUS_RELEASE="$(PREVIOUS_BIN)" $(SWIFT) test --skip-build --filter 'NodeTests'
	protocol/client/e2e.sh
	Tests/immich/run.sh

bench: deps
	bash scripts/bench.sh

clean:
	rm -rf .build .cache
