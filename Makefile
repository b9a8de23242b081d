# Two commands: `make demo` (set up, then compile and verify Heilongjiang) and
# `make test` (set up, then the whole test suite). Both work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEBS   := nftables iproute2 iptables strongswan-charon strongswan-swanctl \
          libstrongswan-extra-plugins libcharon-extra-plugins wireguard-tools wireguard-go \
          chromium fonts-wqy-zenhei

.PHONY: setup debs demo test lint bench fuzz clean locale

$(BIN)/zongheng: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,audit,bench,dask]'
	touch $@

setup: $(BIN)/zongheng

# Debian packages for the Linux validators (root only; skipped otherwise).
debs:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	else echo "not root: skipping Debian packages ($(DEBS))"; fi

demo: setup
	$(BIN)/zongheng check policies/heilongjiang.zh
	$(BIN)/zongheng show policies/heilongjiang.zh --addresses
	$(BIN)/zongheng compile policies/heilongjiang.zh -o out/heilongjiang \
	  --inventory policies/heilongjiang.inventory.toml
	$(BIN)/zongheng lint policies/heilongjiang.zh
	$(BIN)/zongheng verify policies/heilongjiang.zh --defence --configs out/heilongjiang --bundle out/heilongjiang-proof
	$(BIN)/zongheng audit out/heilongjiang-proof --solver all
	$(BIN)/zongheng verify policies/heilongjiang.zh --from-configs out/heilongjiang \
	  --inventory policies/heilongjiang.inventory.toml
	$(BIN)/zongheng report policies/heilongjiang.zh -o out/heilongjiang-report.html

test: setup debs
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The Chinese catalog: extract every _()/N_() message (babel.cfg), merge new ones into
# locale/zh_CN/LC_MESSAGES/zongheng.po (translate them there), compile the committed .mo.
LOCALE_PO := locale/zh_CN/LC_MESSAGES/zongheng.po
locale: setup
	mkdir -p out
	$(BIN)/pybabel extract -F babel.cfg -o out/zongheng.pot --no-location --sort-output \
	  --project zongheng .
	$(BIN)/pybabel update -i out/zongheng.pot -d locale -D zongheng -l zh_CN \
	  --no-fuzzy-matching --ignore-obsolete --width 100
	$(BIN)/pybabel compile -d locale -D zongheng -l zh_CN

bench: setup
	$(BIN)/python benchmarks/bench_verify.py
	$(BIN)/python benchmarks/bench_emit.py
	$(BIN)/python benchmarks/bench_lint.py
	$(BIN)/python benchmarks/bench_bundle.py
	$(BIN)/python benchmarks/bench_diff.py
	$(BIN)/python benchmarks/bench_import.py

# Coverage-guided fuzzing (atheris), not part of `make test`: each target of
# tests/fuzz/fuzz_targets.py for FUZZ_SECONDS, seeded from tests/fuzz/corpus/TARGET
# (read only); what it finds goes to out/fuzz/TARGET/ (a crash: crash-*, to be saved
# under tests/fuzz/regressions/TARGET/ and fixed). Exit 1 when a target crashed.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= policy cisco-ios-xe huawei-vrp junos nftables iproute2

fuzz: setup
	$(BIN)/pip install --quiet -e '.[fuzz]'
	@status=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p out/fuzz/$$t/corpus; echo "== fuzz $$t: $(FUZZ_SECONDS) s"; \
	  $(BIN)/python tests/fuzz/run.py $$t out/fuzz/$$t/corpus tests/fuzz/corpus/$$t \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=30 -print_final_stats=1 \
	    -artifact_prefix=out/fuzz/$$t/ >out/fuzz/$$t/log 2>&1 || status=1; \
	  grep -E '^(Done|stat::number_of_executed_units|==[0-9]+== ERROR)|Uncaught|crash-|timeout-' \
	    out/fuzz/$$t/log || tail -20 out/fuzz/$$t/log; \
	done; exit $$status

clean:
	rm -rf out $(VENV) *.egg-info .pytest_cache .ruff_cache .hypothesis
