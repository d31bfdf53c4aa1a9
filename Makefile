# The two commands a fresh machine needs are `make demo` and `make test` (see README).
.PHONY: demo test e2e check-templates lint package publish-cli

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

# `sam build` of the arm64 functions (zips checked <= 4 MB) and the static x86_64 convoy CLI of the pipeline's
# render step, build/convoy/ (slow: release cross-compiles).
package:
	bash tools/package.sh

# Uploads build/convoy/convoy (BUCKET=name, default SAM's managed bucket) and prints the ConvoyBinary* overrides.
publish-cli:
	bash tools/publish-cli.sh $(BUCKET)
