# The one way in: run, test, bench, fuzz.
CARGO ?= cargo
SEED ?= $(shell date +%s)
CASES ?= 5000

.PHONY: run inventory test fmt-check clippy unit bench fuzz clean

## run: serve the default inventory with one VCH: Port Layer API on :2377, Docker API on :2375
run:
	$(CARGO) run --release -q -p scenarios --bin vcsim-lite -- serve

## inventory: print the default inventory as a tree
inventory:
	$(CARGO) run --release -q -p scenarios --bin vcsim-lite -- inventory

## test: format check, clippy with warnings denied, every test of the workspace
test: fmt-check clippy unit

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

## bench: world lifecycle throughput (divan), SOAP requests in process (divan), 10,000-VM build,
## Port Layer API over loopback (wrk + http_load); bash vcsim-lite/benches/soap_bench.sh for pyVmomi
bench:
	$(CARGO) bench -p vcsim-lite --bench world
	$(CARGO) bench -p vcsim-lite --bench soap
	$(CARGO) run --release -q -p vcsim-lite --example build_large -- 10000
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	bash vcsim-lite/benches/http_bench.sh

## fuzz: the world property test with many cases and a fresh seed (printed; replay with SEED=)
fuzz:
	@echo "fuzz: VCSIM_SEED=$(SEED) PROPTEST_CASES=$(CASES)"
	VCSIM_SEED=$(SEED) PROPTEST_CASES=$(CASES) $(CARGO) test --release -p scenarios --test world_properties

clean:
	$(CARGO) clean
