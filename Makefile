# Set-up is part of every target: a fresh machine needs only `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format demo bench clean-venv

$(STAMP): requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/hanna-tui

test: $(STAMP) sshd-package
	$(PY) -m ruff check hanna_tui tests bench
	$(PY) -m pytest -q

# the SSH tests need a real OpenSSH server binary
sshd-package:
	@test -x /usr/sbin/sshd || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null)

demo: $(STAMP)
	@$(VENV)/bin/hanna-tui --batch examples/demo.toml

bench: $(STAMP)
	$(PY) bench/search_step.py

lint: $(STAMP)
	$(PY) -m ruff check hanna_tui tests bench

format: $(STAMP)
	$(PY) -m ruff format hanna_tui tests bench

clean-venv:
	rm -rf $(VENV)
