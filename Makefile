# milvusops.cluster developer commands. `make demo` and `make test` are the two the README promises.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
TMP := $(abspath .tmp)
SANITY_PYTHON ?= 3.11
PYTEST_ARGS ?=

.PHONY: help venv test checks test-matrix sanity lint unit packaging kubesim-test controlplane integration demo bench changelog build clean

help:
	@echo "make demo   - simulated fleet upgraded end to end by the real playbook"
	@echo "make test   - sanity, lint, unit, simulator and integration tests (what CI runs)"
	@echo "make bench  - fleet benchmark: ours, a kubernetes.core playbook and the documented manual procedure"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt tests/requirements.txt tests/requirements-run.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r tests/requirements.txt
	touch $@

# ansible-test needs the collection at ansible_collections/milvusops/cluster: we check what we ship,
# the built artifact (galaxy.yml build_ignore leaves the simulator and tests out), unpacked there.
# The folder lies outside this git checkout, or ansible-test would ask git and see only ignored files.
# Each ansible-test pins its own pip and looks for ~/.ansible/test/cache/get_pip_<version>.py: the
# stand-in goes under the name the ansible-test of SANITY_BIN asks for.
PIP_STANDIN_NAME = $$($(SANITY_BIN)/python -c 'import pathlib, re, ansible_test; \
	text = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text(); \
	print("get_pip_%s.py" % re.search(r"pip=.([0-9.]+).,", text).group(1).replace(".", "_"))')

build: venv
	rm -rf $(TMP)/build && mkdir -p $(TMP)/build
	$(BIN)/ansible-galaxy collection build --force --output-path $(TMP)/build .

# SANITY_BIN: the venv whose ansible-test checks it (test-matrix sets one per ansible-core).
SANITY_BIN ?= $(BIN)
sanity: build
	mkdir -p $(HOME)/.ansible/test/cache && cp tests/sanity/get_pip_offline.py $(HOME)/.ansible/test/cache/$(PIP_STANDIN_NAME)
	set -e; root=$$(mktemp -d); trap 'rm -rf "$$root"' EXIT; \
	dir=$$root/ansible_collections/milvusops/cluster; mkdir -p $$dir; \
	tar -xzf $(TMP)/build/milvusops-cluster-*.tar.gz -C $$dir; \
	cd $$dir && PATH=$(SANITY_BIN):$$PATH $(SANITY_BIN)/ansible-test sanity --venv --python $(SANITY_PYTHON) --color no

# ansible-lint resolves milvusops.cluster.* through a collections path that points at this checkout.
lint: venv
	set -e; root=$$(mktemp -d); trap 'rm -rf "$$root"' EXIT; \
	mkdir -p $$root/ansible_collections/milvusops; ln -s $(CURDIR) $$root/ansible_collections/milvusops/cluster; \
	PATH=$(BIN):$$PATH ANSIBLE_COLLECTIONS_PATH=$$root $(BIN)/ansible-lint --offline --profile production roles playbooks

unit: venv
	$(BIN)/python -m pytest tests/unit -q $(PYTEST_ARGS)

# The execution-environment context, the 1.0.0 changelog release and the built artifact.
packaging: venv
	$(BIN)/python -m pytest tests/packaging -q $(PYTEST_ARGS)

kubesim-test: venv
	$(BIN)/python -m pytest tests/kubesim -q $(PYTEST_ARGS)

# The real control plane (tests/controlplane): built once per pinned version into a cache outside
# the checkout, then started by the tests inside a network namespace of their own (only `lo`).
controlplane:
	bash tests/controlplane/build.sh

# Both backends at once, inside the namespace (tests/run_integration.py): the control plane's own
# tests, the fidelity comparison with kubesim and the real-backend scenarios in one pytest, the
# simulator's scenarios in another; each prints how many tests ran on its backend.
integration: venv controlplane
	$(BIN)/python -m tests.controlplane.netns -- $(BIN)/python -m tests.run_integration $(PYTEST_ARGS)

# The checks need CPU, the integration suite mostly waits (pods starting, timeouts running out): they run at
# once, the checks at a low priority so that the suite's timing (fail-fast windows, lock expiry) is not
# starved, one after the other and with their lines marked [checks]. Either failing fails make test.
# venv first: both jobs need it, and two jobs must not install it at once
test: venv
	$(MAKE) --no-print-directory -j2 checks integration

checks: venv
	set -o pipefail; MAKEFLAGS= nice -n 15 $(MAKE) --no-print-directory sanity lint unit packaging kubesim-test 2>&1 \
		| sed -u 's/^/[checks] /'

# --- make test-matrix (CI runs it after make test): the versions people run ---------------------
# MATRIX_CORES: every ansible-core minor that meta/runtime.yml admits and PyPI serves for this Python,
# but the newest, which is the main venv's (make test covers it). The oldest core gets the lowest
# kubernetes client and packaging that requirements.txt admits (MATRIX_LOWEST). Each core: sanity and
# unit tests; the lowest combination and every helm of tests/controlplane/versions.env: one fleet
# upgrade on the real control plane (tests/integration/test_versions.py). tests/packaging holds these
# equal to what the collection declares.
MATRIX_CORES := 2.16 2.17 2.18
MATRIX_LOWEST := kubernetes==24.2.0 packaging==21.0
MATRIX := $(TMP)/matrix
LOWEST_CORE := $(firstword $(MATRIX_CORES))

$(MATRIX)/core-%/.installed: requirements.txt tests/requirements-run.txt
	rm -rf $(MATRIX)/core-$* && $(PYTHON) -m venv $(MATRIX)/core-$*
	$(MATRIX)/core-$*/bin/pip install --quiet --disable-pip-version-check "ansible-core==$*.*" \
		-r requirements.txt -r tests/requirements-run.txt $(if $(filter $*,$(LOWEST_CORE)),$(MATRIX_LOWEST))
	touch $@

test-matrix: venv controlplane $(foreach core,$(MATRIX_CORES),$(MATRIX)/core-$(core)/.installed)
	set -e; for core in $(MATRIX_CORES); do \
		echo "== ansible-core $$core: sanity, unit"; \
		$(MAKE) --no-print-directory sanity SANITY_BIN=$(MATRIX)/core-$$core/bin; \
		$(MATRIX)/core-$$core/bin/python -m pytest tests/unit -q -p no:cacheprovider; \
	done
	$(BIN)/python -m tests.run_integration --versions $(MATRIX)/core-$(LOWEST_CORE)/bin/python \
		$$(bash tests/controlplane/build_helm.sh)

# BACKEND=real runs the demo on the real control plane (built on first use) instead of kubesim.
BACKEND ?= kubesim
demo: venv
ifeq ($(BACKEND),real)
	bash tests/controlplane/build.sh
	$(BIN)/python -m tests.controlplane.netns -- $(BIN)/python -m tests.demo --backend real
else
	$(BIN)/python -m tests.demo
endif

# --- make bench: ours, the kubernetes.core peer and the manual procedure (tests/bench) -----------------------
# The default is a subset that takes about 35 minutes here (BENCH_ARGS=--skip-all-at-once: about 27);
# the whole matrix of issue 14 is
#   make bench BENCH_SIZES=1,4,8,16 BENCH_REAL_SIZES=1,4 BENCH_ARGS="--baseline-sizes all"
# BENCH_BACKENDS: kubesim and/or real (the real control plane, built on first use, in a network namespace of
# its own); BENCH_DELAYS / BENCH_REAL_DELAYS: pod start delays in seconds; BENCH_REPEAT: interleaved repetitions.
BENCH_SIZES ?= 1,4
BENCH_DELAYS ?= 0,5
BENCH_BACKENDS ?= kubesim real
BENCH_REAL_SIZES ?= 1
BENCH_REAL_DELAYS ?= 0
BENCH_REPEAT ?= 2
BENCH_ARGS ?=
# The peer (tests/bench/peer/upgrade.yml) runs with kubernetes.core from the `ansible` community package, in
# a virtualenv of the bench's own: never a dependency of the collection. ansible 12 is ansible-core 2.19, ours.
PEER_VENV := $(TMP)/bench-peer-venv
PEER_PACKAGES := ansible==12.3.0 kubernetes==37.0.2 PyYAML>=6 jsonpatch>=1.33

$(PEER_VENV)/.installed:
	rm -rf $(PEER_VENV) && $(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/pip install --quiet --disable-pip-version-check $(foreach p,$(PEER_PACKAGES),"$(p)")
	touch $@

bench: venv $(PEER_VENV)/.installed
	set -e; common="--repeat $(BENCH_REPEAT) --peer-ansible $(PEER_VENV)/bin/ansible-playbook $(BENCH_ARGS)"; \
	for backend in $(BENCH_BACKENDS); do case $$backend in \
		kubesim) $(BIN)/python -m tests.bench --sizes $(BENCH_SIZES) --delays $(BENCH_DELAYS) \
			--out $(TMP)/bench/kubesim $$common ;; \
		real) bash tests/controlplane/build.sh >/dev/null; \
			$(BIN)/python -m tests.controlplane.netns -- $(BIN)/python -m tests.bench --backend real \
			--sizes $(BENCH_REAL_SIZES) --delays $(BENCH_REAL_DELAYS) --out $(TMP)/bench/real $$common ;; \
		*) echo "BENCH_BACKENDS: unknown backend $$backend (kubesim, real)"; exit 2 ;; \
	esac; done
	$(BIN)/python -m tests.bench.long_wait --out $(TMP)/bench

changelog: venv
	$(BIN)/antsibull-changelog lint

clean:
	rm -rf $(TMP) tests/output
