# Two commands: `make run` (the app on ./data/flowdeck.db) and `make test` (everything CI runs).
# Every install step checks first, so both are idempotent and work on a fresh Debian machine
# with only Rust installed. Only registries are used: rustup, crates.io, npm, Debian apt.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO_TEST := cargo test --workspace --exclude frontend --features app/ssr
LOGS := target/test-logs

.PHONY: run test tools bundle browser smtp-sink lint unit-and-integration e2e summary

## The app on http://127.0.0.1:3000 with the SQLite file ./data/flowdeck.db (DATABASE_URL overrides).
run: bundle
	cargo build --release -p server
	./target/release/flowdeck serve

## Unit, integration (SQLite; also Postgres when TEST_DATABASE_URL is set) and browser tests.
test: bundle browser smtp-sink lint unit-and-integration e2e summary

tools:
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy rustfmt
	@[ -x tools/node_modules/.bin/wasm-opt ] || npm ci --prefix tools --no-audit --no-fund

## The release wasm bundle, split by page, and the stylesheet in target/site/pkg/<version> (prints sizes).
bundle: tools
	cargo xtask build

browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@[ -d end2end/node_modules/@playwright/test ] && [ -d end2end/node_modules/@axe-core/playwright ] || npm ci --prefix end2end --no-audit --no-fund

## The email tests send to a real SMTP server on loopback (Python's aiosmtpd, from PyPI).
smtp-sink:
	@python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check 'aiosmtpd==1.4.6'

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --exclude frontend --all-targets --features app/ssr -- -D warnings

unit-and-integration:
	@mkdir -p $(LOGS)
	$(CARGO_TEST) 2>&1 | tee $(LOGS)/cargo.log

e2e:
	@mkdir -p $(LOGS)
	cd end2end && FLOWDECK_BIN=../target/debug/flowdeck npx playwright test 2>&1 | tee ../$(LOGS)/e2e.log

summary:
	@echo "== test counts"
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "cargo: %d passed, %d failed\n", p, f }' $(LOGS)/cargo.log
	@grep -E '^\s+[0-9]+ (passed|failed|flaky|skipped)' $(LOGS)/e2e.log | sed 's/^ */playwright: /' || true
	@echo "== browser bundle (bytes)"
	@cat target/bundle-sizes.txt
