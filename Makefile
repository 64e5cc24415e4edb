# openfota — top-level entry points.
#   make        build build/openfota (release, -Werror)
#   make run    install missing Debian packages, build (output in build/run-build.log,
#               shown only when the build fails), start the server on ./var
#               (PUSH=1: also the TCP push port 9100; MQTT=1: also a private
#               mosquitto on loopback, stopped again when the server stops)
#   make test   install missing Debian packages, build, run the whole suite
#               (unit + integration under ASan/UBSan, clang -Werror build, fuzz smoke)
#   make bench  run the benchmarks in bench/ (figures go to docs/BENCHMARKS.md by hand)
#   make install  build, then install the binary, the systemd unit, the config
#               sample and the man pages (PREFIX=/usr/local, SYSCONFDIR=/etc,
#               DESTDIR= to stage into a folder; docs/operations.md)
#   make deb    build the Debian package into build-deb/ (dpkg-buildpackage)

JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 15
RUN_ARGS    ?=

.PHONY: all build build-quiet bootstrap run test test-san test-clang test-fuzz bench clean install deb

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

PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR    ?=
# the build folder installed from (a new one is configured as a release build)
INSTALL_FROM ?= build

install: bootstrap
	@cmake -S . -B $(INSTALL_FROM) $(if $(wildcard $(INSTALL_FROM)/CMakeCache.txt),,-DCMAKE_BUILD_TYPE=RelWithDebInfo) \
	  -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DCMAKE_INSTALL_SYSCONFDIR=$(SYSCONFDIR) >/dev/null
	@cmake --build $(INSTALL_FROM) -j $(JOBS)
	@DESTDIR="$(DESTDIR)" cmake --install $(INSTALL_FROM)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null 2>&1; then \
	  systemd-sysusers $(PREFIX)/lib/sysusers.d/openfota.conf && echo "openfota user: present (systemd-sysusers)"; \
	  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	  echo "Next: edit $(SYSCONFDIR)/openfota/openfota.conf, then: systemctl enable --now openfota"; \
	fi

deb: bootstrap
	@scripts/deb.sh build-deb

clean:
	rm -rf build build-san build-fuzz build-deb
