# Rapport developer and CI entry points.  CI runs `bash .ci/run`, which runs `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS='-k redis -x'`.
PYTEST_ARGS ?=

.PHONY: venv deps run run-lan test screenshots lint fuzz lock bench clean distclean

venv: $(STAMP)

# The exact versions in requirements/test.lock (runtime and test dependencies, made by `make
# lock`), then the project itself without resolving anything again. Re-installs only when
# pyproject.toml or the lock is newer than the stamp.
LOCK := requirements/test.lock
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -r $(LOCK)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $@

# Refresh the locks after changing dependencies in pyproject.toml (uv resolves; pip installs).
lock: venv
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q uv
	$(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
		-o requirements/runtime.lock -q
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		-o requirements/test.lock -q

deps:
	bash .ci/ensure-deps

# `make run` installs only what the service needs (requirements/runtime.lock), saying what it
# does; the test tools come with `make test`. The development secret is kept in an ignored file,
# so the links it prints keep working after a restart. Background blur's MediaPipe files come
# from the npm registry (.ci/vendor-mediapipe --optional): without npm the service still runs and
# its blur switch says blur is unavailable.
RUN_STAMP := $(VENV)/.runtime-installed
DEV_SECRET := .dev-secret
$(RUN_STAMP): pyproject.toml requirements/runtime.lock
	@test -x $(VENV)/bin/python || { echo "==> Creating the virtual environment in $(VENV)"; \
		$(PYTHON) -m venv $(VENV); }
	@echo "==> Installing the service's dependencies (requirements/runtime.lock; first run only)"
	$(VENV)/bin/python -m pip install --disable-pip-version-check --progress-bar on \
		-r requirements/runtime.lock
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $@

$(DEV_SECRET):
	@echo "==> Making a development secret in $(DEV_SECRET) (ignored by git; delete it to start over)"
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > $@

run: $(RUN_STAMP) $(DEV_SECRET)
	@bash .ci/vendor-mediapipe --optional
	@echo "==> Starting Rapport on the embedded default (one node, in memory)"
	TELEHEALTH_JWT_SECRET="$$(cat $(DEV_SECRET))" $(VENV)/bin/telehealth serve --dev --links-file .dev-links.json

# The same, over HTTPS on this machine's LAN address with a self-signed certificate (kept in
# .dev-lan-cert.pem / .dev-lan-key.pem, ignored by git), so a phone on the same network can join:
# see the README, "Try it on a phone". LAN_HOST=192.168.1.20 picks the address by hand.
run-lan: $(RUN_STAMP) $(DEV_SECRET)
	@echo "==> Starting Rapport on this machine's LAN address (HTTPS, self-signed)"
	TELEHEALTH_JWT_SECRET="$$(cat $(DEV_SECRET))" $(VENV)/bin/telehealth serve --dev --lan \
		$(if $(LAN_HOST),--lan-host $(LAN_HOST),)

# deps first (system packages, axe-core), then the venv.
test: deps venv lint
	bash .ci/test-suite $(PYTEST_ARGS)

# Test runs write their pictures under test-artifacts/ (ignored); this retakes the README's.
screenshots: deps venv
	RAPPORT_SCREENSHOTS_DIR=docs/screenshots bash .ci/test-suite tests/browser/test_screens.py \
		tests/browser/test_blur.py tests/browser/test_spanish.py tests/browser/test_short_links.py \
		tests/browser/test_branding.py tests/browser/test_room_link.py $(PYTEST_ARGS)

# ruff, mypy (strict) and the import-linter contracts (the layers in pyproject.toml).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# A longer soak of the fuzz tests (the protocol state machine, schemathesis against the API):
# many more examples than `make test` runs. RAPPORT_FUZZ=1 is what turns the counts up.
fuzz: deps venv
	RAPPORT_FUZZ=1 bash .ci/test-suite -p no:cacheprovider --timeout 1800 $(PYTEST_ARGS) \
		tests/e2e/test_protocol_fuzz.py tests/e2e/test_api_fuzz.py

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -e '.[test,bench]'
	@touch $@

# The main run (docs/performance.md, results/latest.json), then what pre-call tests cost a node
# and do to its signaling (results/precall.json).
bench: $(BENCH_STAMP)
	$(VENV)/bin/python -m benchmarks --profile
	$(VENV)/bin/python -m benchmarks.precall

clean:
	rm -rf build/ dist/ *.egg-info .pytest_cache .mypy_cache .ruff_cache test-artifacts/
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# Also drops the virtualenv and the vendored axe-core and MediaPipe.
distclean: clean
	rm -rf $(VENV) .cache/
