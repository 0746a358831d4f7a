# Sluice — developer entry points. See README.md.
#
#   make run      install what is missing, build release, make dev certs, start the database, run sluiced (mTLS)
#   make test     install what is missing, build debug, run the Swift and Python suites
#   make certs    make the dev certificates in certs/ (only those absent or stale)
#   make db       start the project's PostgreSQL (.data/postgres; scripts/postgres.sh stop|status|url|psql)
#   make db-stop  stop it
#   make fuzz     build the libFuzzer targets (ASan) and run each FUZZ_SECONDS (default 60); see scripts/fuzz.sh
#   make tsan     build and run the Swift suites under ThreadSanitizer (.build-tsan; TSAN_ARGS="--filter X")
#   make bench    build release; measure the machine's limits, Sluice's RPCs and the storage path
#   make protos   regenerate Sources/SluiceProto from Protos/
#   make clean    remove .build and the sanitizer builds (.build-fuzz, .build-tsan)
#
# Variables: LISTEN=host:port (default 127.0.0.1:8443), ARGS="extra sluiced flags".

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Swift lives at /opt/swift on these machines; use it when it is not on PATH already.
ifeq ($(shell command -v swift 2>/dev/null),)
export PATH := /opt/swift/usr/bin:$(PATH)
endif

SWIFT  ?= swift
LISTEN ?= 127.0.0.1:8443
ARGS   ?=
CERTS  := certs

.PHONY: help run test certs deps venv db db-stop build release bench protos clean fuzz tsan

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

## System packages (apt), only those missing.
deps:
	@scripts/install-deps.sh

## Dev certificates (certs/*.pem), only those absent or stale.
certs:
	@scripts/make-certs.sh $(CERTS)

## Python environment for the interop tests (.venv).
venv:
	@scripts/python-venv.sh

## The project-local PostgreSQL cluster (Unix socket only; see scripts/postgres.sh).
db: deps
	@scripts/postgres.sh start
	@echo "database: $$(scripts/postgres.sh url)"

db-stop:
	@scripts/postgres.sh stop

## Debug build, tests included.
build: deps
	$(SWIFT) build --build-tests

## Release build of every product (sluiced, sluice, sluice-interop).
release: deps
	$(SWIFT) build -c release

## sluiced in the foreground, mutual TLS required. Ctrl-C stops it (the database keeps running).
run: deps certs db
	$(SWIFT) build -c release --product sluiced
	exec .build/release/sluiced --listen $(LISTEN) \
	    --cert $(CERTS)/server.pem --key $(CERTS)/server-key.pem \
	    --client-ca $(CERTS)/ca.pem --require-client-cert \
	    --database "$$(scripts/postgres.sh url)" --blobs "file://$(CURDIR)/.data/blobs" $(ARGS)

## Both suites (Swift, then Python interop); see scripts/run-tests.sh.
test:
	scripts/run-tests.sh

## libFuzzer targets (Fuzz/), each run for FUZZ_SECONDS with its seed corpus; see scripts/fuzz.sh.
fuzz: deps
	scripts/fuzz.sh

## The Swift suites under ThreadSanitizer, in their own build directory; needs the database.
tsan: deps certs db
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	SLUICE_TEST_DATABASE_URL="$${SLUICE_TEST_DATABASE_URL:-$$(scripts/postgres.sh url)}" \
	    $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan $(TSAN_ARGS)

## Machine baselines and RPC benchmarks; see scripts/bench.sh.
bench: release certs venv db
	scripts/bench.sh

protos:
	scripts/generate-protos.sh

clean:
	rm -rf .build .build-fuzz .build-tsan
