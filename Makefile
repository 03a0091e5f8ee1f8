# LienThong: one entry per workflow. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.DEFAULT_GOAL := test

# Debian packages the build and the tests need: C libraries (jemalloc is the executable's allocator), pkg-config, and
# the PostgreSQL server the test harness starts as a throwaway cluster.
DEBIAN_PACKAGES := librdkafka-dev libpq-dev libjemalloc-dev postgresql pkg-config
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# Two cores: keep the compiler to two jobs.
SWIFT_BUILD_FLAGS := --jobs 2
STRICT := LIENTHONG_STRICT=1

.PHONY: deps build run test lint format check-c-fence check-schemas check-alerts bench clean

# `make run RUN_ARGS="--duration-seconds 0 --speed 1200"` passes options to `lienthong dev`.
RUN_ARGS ?=
# The fleet benchmark's details (which stage set the pace, where the worker logs are) land here.
BENCH_REPORT := $(CURDIR)/.build/bench-report.txt

## deps: install missing Debian packages (apt-get update only when something is missing)
deps:
	@missing=""; for package in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else \
		echo "Debian packages present: $(DEBIAN_PACKAGES)"; \
	fi

## build: compile everything, tests included, with warnings as errors
build: deps
	$(STRICT) swift build $(SWIFT_BUILD_FLAGS) --build-tests

## run: install what is missing, build, and run the system on one machine with a simulated Hanoi (lienthong dev)
run: deps
	$(STRICT) swift build $(SWIFT_BUILD_FLAGS) --product lienthong
	.build/debug/lienthong dev $(RUN_ARGS)

## check-schemas: the event contracts are valid JSON Schema 2020-12 and their examples validate (or fail) as named
check-schemas:
	@python3 -c "import jsonschema" 2>/dev/null || python3 -m pip install -q jsonschema 2>/dev/null \
		|| (DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3 python3-jsonschema)
	python3 .ci/check-schemas

## check-alerts: the Prometheus alert rules load and their unit tests pass (promtool, fetched if missing)
check-alerts:
	./.ci/check-alerts

## lint: formatting (swift-format, strict) and the C fence
lint: check-c-fence
	swift format lint --strict --recursive Sources Tests Package.swift

check-c-fence:
	@./.ci/check-c-fence

## test: install what is missing, lint, build, run every test against a throwaway PostgreSQL and the embedded broker
## The tests run in parallel in one process, each with its own embedded brokers and clients: up to ≈900 descriptors
## open at once, near the common soft limit of 1024, so the soft limit is raised to the hard one (at most 65536).
test: deps lint check-schemas check-alerts build
	hard=$$(ulimit -Hn); [ "$$hard" = unlimited ] && hard=65536; [ "$$hard" -gt 65536 ] && hard=65536; \
		ulimit -Sn "$$hard" 2>/dev/null || true; \
		$(STRICT) swift test $(SWIFT_BUILD_FLAGS) --skip-build

## bench: Kafka wrapper, PostgreSQL write paths, domain and the worker fleet end to end (prints numbers; never part
## of `make test`). The fleet runs the release `lienthong` as child processes.
bench: deps
	swift build $(SWIFT_BUILD_FLAGS) -c release --product lienthong
	rm -f $(BENCH_REPORT)
	cd Tests/Benchmarks && LIENTHONG_BIN=$(CURDIR)/.build/release/lienthong LIENTHONG_BENCH_REPORT=$(BENCH_REPORT) \
		swift package $(SWIFT_BUILD_FLAGS) benchmark --no-progress $(BENCH_FILTER)
	@[ ! -f $(BENCH_REPORT) ] || { echo "Worker fleet details:"; cat $(BENCH_REPORT); }

## format: rewrite sources with swift-format
format:
	swift format format --in-place --recursive Sources Tests Package.swift

clean:
	rm -rf .build Tests/Benchmarks/.build
