# The two commands a fresh machine needs are `make demo` and `make test` (see README).
.PHONY: demo test e2e check-templates lint package

# Runs the demo release against the local stack (moto + simulator + the real state machine and functions).
demo:
	bash scripts/toolchain.sh
	bash local/demo.sh

# Every test: unit, adapter (mocks), integration (moto), contract, template checks, end to end.
test:
	bash scripts/test.sh

e2e:
	bash local/e2e.sh

check-templates:
	bash tools/check-templates.sh

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

# arm64 Lambda zips (slow: a release cross-compile).
package:
	bash tools/package.sh
