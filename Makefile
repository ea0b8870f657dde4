# wirekit: `make demo` and `make test` are the two commands a fresh Debian machine needs.
# Every target installs what it uses, idempotently: apt packages when missing, then a .venv.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export DEBIAN_FRONTEND := noninteractive

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := .stamp

# Runtime: libpcap compiles filters; iproute2 makes namespaces; gcc and the Python headers
# build the codec's C helpers (src/wirekit/packet/_speedups.c; wirekit runs without them).
RUNTIME_PKGS := libpcap0.8 iproute2 ca-certificates gcc libc6-dev python3-dev
# Tests and benchmarks drive these real peers.
TEST_PKGS := $(RUNTIME_PKGS) tcpdump tshark iperf3 tcpreplay ethtool libcap2-bin gcc libc6-dev procps iputils-ping openssl

PYTEST_ARGS ?=

.PHONY: demo test lint bench sysdeps-runtime sysdeps-test venv clean help

help:
	@echo "make demo   - install what is needed and run wirekit's main job end to end"
	@echo "make test   - install dev dependencies and system tools, then lint and run the whole suite"
	@echo "make lint   - ruff and mypy --strict"
	@echo "make bench  - run benchmarks/ against their peers and write benchmarks/results.md"

sysdeps-runtime:
	@scripts/install-sysdeps.sh $(RUNTIME_PKGS) $(if $(shell $(PYTHON) -c 'import ensurepip' 2>/dev/null || echo x),python3-venv,)

sysdeps-test:
	@scripts/install-sysdeps.sh $(TEST_PKGS) $(if $(shell $(PYTHON) -c 'import ensurepip' 2>/dev/null || echo x),python3-venv,)

$(STAMP)/venv: pyproject.toml src/wirekit/packet/_speedups.c
	@mkdir -p $(STAMP)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip >/dev/null
	@$(BIN)/python -m pip install -q -e '.[all,dev]'
	@touch $@

venv: $(STAMP)/venv

demo: sysdeps-runtime venv
	@$(BIN)/python demo/run.py

lint: venv
	$(BIN)/ruff check src tests benchmarks demo scripts
	$(BIN)/mypy

test: sysdeps-test venv lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@echo "codec tests again without the C helpers (WIREKIT_PURE=1): the pure-Python path"
	WIREKIT_PURE=1 $(BIN)/python -m pytest -q tests/unit/packet tests/unit/pcap \
		--ignore=tests/unit/packet/test_speedups.py

bench: sysdeps-test venv
	$(BIN)/python benchmarks/run_all.py --output benchmarks/results.md

clean:
	rm -rf $(VENV) $(STAMP) .mypy_cache .ruff_cache .pytest_cache build src/*.egg-info
	find src -name '*.so' -delete
