# The one way in: run, test, bench, fuzz.
CARGO ?= cargo
SEED ?= $(shell date +%s)
CASES ?= 5000
FUZZ_CASES ?= 20000
FUZZ_STEPS ?= 30

.PHONY: run inventory test fmt-check clippy unit e2e bench-k8s bench fuzz mutants mutants-world mutants-provider clean

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

## e2e: the provider as a node of a real Kubernetes 1.20 control plane on loopback (etcd,
##      kube-apiserver, kube-scheduler built once from Debian's source package, 6-10 min, cached
##      in ~/.cache/vcsim-lite); needs ../shared/k8s
e2e:
	bash scripts/e2e.sh

## bench-k8s: pods per second from `kubectl apply` of 500 pods to all Running, node CPU and RSS
bench-k8s:
	bash scripts/k8s_pods_bench.sh 500

## bench: world, port layer and pod lifecycles (divan), SOAP requests in process (divan), 10,000-VM
## build, 100,000 pod lifecycles and 100,000 resident pods, Port Layer API over loopback (wrk +
## http_load); bash vcsim-lite/benches/soap_bench.sh for pyVmomi vs simvc
bench:
	$(CARGO) bench -p vcsim-lite --bench world
	$(CARGO) bench -p vcsim-lite --bench soap
	$(CARGO) run --release -q -p vcsim-lite --example build_large -- 10000
	$(CARGO) run --release -q -p vcsim-lite --example provider_load -- cycle 100000
	$(CARGO) run --release -q -p vcsim-lite --example provider_load -- resident 100000
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	bash vcsim-lite/benches/http_bench.sh

## fuzz: the whole-stack state machine (vcsim-lite fuzz, built with the `fuzz` profile: release
##       with whole-program optimization) and the world property test, with a fresh seed
##       (printed; replay with SEED=, size with FUZZ_CASES/FUZZ_STEPS, CASES)
fuzz:
	@echo "fuzz: SEED=$(SEED) FUZZ_CASES=$(FUZZ_CASES) FUZZ_STEPS=$(FUZZ_STEPS) CASES=$(CASES)"
	$(CARGO) run --profile fuzz -q -p scenarios --bin vcsim-lite -- fuzz --seed $(SEED) --cases $(FUZZ_CASES) --steps $(FUZZ_STEPS)
	VCSIM_SEED=$(SEED) PROPTEST_CASES=$(CASES) $(CARGO) test --release -p scenarios --test world_properties

## mutants: mutation testing (cargo-mutants) of resource accounting and status mapping; see TESTING.md
mutants: mutants-world mutants-provider

# Mutant builds get their own target directory, kept between runs, without debug info.
MUTANTS = CARGO_TARGET_DIR=$(CURDIR)/target/mutants-build CARGO_PROFILE_DEV_DEBUG=0 \
	$(CARGO) mutants -j 1 --timeout 60

mutants-world:
	command -v cargo-mutants >/dev/null || $(CARGO) install cargo-mutants --locked
	mkdir -p target/mutants-out
	$(MUTANTS) -o target/mutants-out/world \
		-f vcsim-lite/src/vsphere/admission.rs -f vcsim-lite/src/vsphere/vm_ops.rs

mutants-provider:
	command -v cargo-mutants >/dev/null || $(CARGO) install cargo-mutants --locked
	mkdir -p target/mutants-out
	$(MUTANTS) -o target/mutants-out/provider \
		-f provider/src/status.rs -f provider/src/node.rs \
		-f provider/src/sizing.rs -f provider/src/quantity.rs

clean:
	$(CARGO) clean
