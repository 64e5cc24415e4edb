# openfota — top-level entry points.
#   make        build build/openfota (release, -Werror)
#   make run    install missing Debian packages, build (output in build/run-build.log,
#               shown only when the build fails), start the server on ./var
#               (PUSH=1: also the TCP push port 9100; MQTT=1: also a private
#               mosquitto on loopback, stopped again when the server stops)
#   make test   install missing Debian packages, build, run the whole suite
#               (unit + integration under ASan/UBSan, clang -Werror build, fuzz smoke)
#   make bench  run the benchmarks in bench/ (figures go to docs/BENCHMARKS.md by hand)

JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 15
RUN_ARGS    ?=

.PHONY: all build build-quiet bootstrap run test test-san test-clang test-fuzz bench clean

all: build

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

PUSH ?=
MQTT ?=
RUN_LOG ?= build/run-build.log

# `make run`: the first screen is the first thing the user sees; the build's
# output goes to $(RUN_LOG) and is printed only when the build fails.
build-quiet:
	@mkdir -p $(dir $(RUN_LOG))
	@echo "building (log: $(RUN_LOG)) ..."
	@if { scripts/bootstrap.sh && cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && \
	      cmake --build build -j $(JOBS); } >$(RUN_LOG) 2>&1; then :; else \
	  cat $(RUN_LOG); echo "make run: the build failed (log above, also in $(RUN_LOG))" >&2; exit 1; fi

run: build-quiet
	@set -e; args="$(RUN_ARGS)"; \
	if [ -n "$(PUSH)" ]; then args="$$args --push 0.0.0.0:9100"; fi; \
	if [ -n "$(MQTT)" ]; then \
	  mkdir -p var/mqtt; scripts/mosquitto.sh start var/mqtt >/dev/null; \
	  trap 'scripts/mosquitto.sh stop var/mqtt >/dev/null 2>&1 || true' EXIT INT TERM; \
	  args="$$args --mqtt $$(cat var/mqtt/address)"; \
	  echo "MQTT broker (private, loopback): $$(cat var/mqtt/address)"; \
	fi; \
	build/openfota serve $$args

# The suite: sanitizer build runs every unit and integration test; a clang
# build proves the tree is warning-free with the second compiler and runs
# each fuzz target for a bounded time.
test: build test-san test-fuzz

test-san: bootstrap
	@cmake -S . -B build-san -DCMAKE_BUILD_TYPE=Debug -DOPENFOTA_SANITIZE=ON >/dev/null
	@cmake --build build-san -j $(JOBS)
	@cd build-san && ctest --output-on-failure -j $(JOBS) --timeout 900

test-fuzz: bootstrap
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DOPENFOTA_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@cd build-fuzz && OPENFOTA_FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --output-on-failure -L fuzz --timeout 900

bench: build
	@scripts/bootstrap.sh --bench
	@bench/run-all.sh

clean:
	rm -rf build build-san build-fuzz
