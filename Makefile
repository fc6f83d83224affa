# Haul: `make run` serves the app with its embedded stack; `make test` runs every test.
SHELL := /bin/bash
TOOLS_DIR ?= $(HOME)/.cache/haul/tools
# scripts/tools.sh installs into it, scripts/site.sh finds wasm-opt there.
export HAUL_TOOLS_DIR := $(TOOLS_DIR)
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
export PATH := $(TOOLS_DIR)/seaweedfs/bin:$(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)
# SQL is checked at compile time against the query data committed in .sqlx/ (no database
# needed to build). After changing a query or a migration: `make sqlx-prepare DATABASE_URL=…`.
export SQLX_OFFLINE ?= true

.PHONY: release run test tools test-tools site fmt-check clippy cargo-tests js-tests e2e bench bench-cli bench-admin bench-load bench-compare sqlx-prepare

run: tools site
	cargo build -p server
	$(TARGET_DIR)/debug/server

test: test-tools fmt-check clippy cargo-tests js-tests site e2e
	@echo "make test: all passed"

tools:
	@scripts/tools.sh build

# For production: the optimised server (target/release/server) beside the bundle.
release: tools site
	cargo build --release -p server -p haul-cli

test-tools:
	@scripts/tools.sh test

# The browser bundle (wasm, JS glue, CSS, assets) in target/site: the size-optimised
# wasm-release profile, wasm-bindgen, wasm-opt (npm binaryen), then brotli and gzip copies
# under content-hashed names. Plain cargo: no cargo-leptos to install. What `make run`
# serves and the tests load.
site:
	scripts/site.sh

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy -p server -p transfer -p haul-cli -p haul-load --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

# Unit tests and integration tests (real PostgreSQL and S3, started by the tests). The
# server's tests run the `haul` binary, built first.
cargo-tests:
	cargo build -p haul-cli
	cargo test -p app -p server -p transfer -p haul-cli

# The browser's own scripts, by node alone (public/md5.js against node's crypto, the hashing
# worker in a vm context), and bench/plan.mjs's plan line on captured EXPLAIN output.
js-tests:
	node --test end2end/unit/

e2e:
	cargo build -p server
	scripts/e2e.sh

# Upload throughput: Haul in headless Chromium vs curl, 1 GiB to the local S3 (HAUL_BENCH_MIB=…).
# Chromium and playwright-core come with the test tools.
bench: test-tools site
	cargo build -p server
	cargo build --release -p server -p haul-cli
	scripts/bench.sh

# The haul command line against curl and aws s3 cp (as it comes, and checking SHA-256s): 4 GiB
# to the local store, 4 runs each (HAUL_BENCH_CLI_MIB=…, HAUL_BENCH_CLI_RUNS=…). Also the last
# part of `make bench` (HAUL_BENCH_CLI=0 skips it there).
bench-cli: tools
	cargo build --release -p server -p haul-cli
	HAUL_BENCH_HAUL=$(TARGET_DIR)/release/haul node bench/cli-bench.mjs

# Admin dashboard at scale: 10 000 users and 1 000 000 files seeded, p50/p99 of each query.
bench-admin: tools
	cargo build -p server
	scripts/bench-admin.sh

# Control-plane capacity: simulated uploaders against a release server and its PostgreSQL,
# ramped (HAUL_LOAD_STEPS=100,500,…, HAUL_LOAD_SECONDS a step, HAUL_LOAD_RUNS runs;
# HAUL_LOAD_SERVERS=2 for two app servers on one database). Not part of `make test`.
bench-load: tools
	cargo build --release -p server -p haul-load
	HAUL_BENCH_SERVER=$(TARGET_DIR)/release/server HAUL_BENCH_LOAD=$(TARGET_DIR)/release/haul-load node bench/load-bench.mjs

# The same benchmark for commit REV and the working tree, alternately (RUNS each, default 5).
bench-compare: test-tools
	scripts/bench-compare.sh $(REV) $(RUNS)

# Refreshes .sqlx/ from a database that has the migrations applied (cargo install sqlx-cli
# --version 0.8.6 --no-default-features --features postgres,rustls).
sqlx-prepare:
	SQLX_OFFLINE=false cargo sqlx prepare --workspace -- -p server
