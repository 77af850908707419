# Two commands for a fresh machine (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= artifacts
PORT ?= 5000
# The demo's export: float16 weights halve the digit model's download (874 -> 443 KB) and pass the
# digit model's proof (same argmax on >= 99.95% of the test set, accuracy within 0.02 points); when
# the proof refuses them, the unquantized export is published instead. QUANTIZE=none to skip.
QUANTIZE ?= float16

.PHONY: setup demo train export serve test test-slow lint bench clean

## setup: virtual environment with the project and its test tools, plus the npm packages
setup: $(VENV)/.installed node_modules/.package-lock.json

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# LiteRT.js, float and full-integer, beside TF.js wherever its browser proof can run (Chromium found):
# the digit page then offers every runtime. Expanded when the recipe runs, after setup made the venv.
LITERT = $(shell $(PY) -c "from mnist_tfjs.chromium import find_chromium; print('--litert int8' if find_chromium() else '')")
EXPORT_DEMO = $(PY) -m export --model $(OUT)/model.keras --out $(OUT)/web_model $(LITERT)

## demo: train the default model, export it to TF.js and LiteRT.js (float16 TF.js weights where the
## parity proof holds; the int8 LiteRT.js model where its rules hold), serve the page
demo: setup
	$(PY) -m train --out $(OUT)
	$(EXPORT_DEMO) --quantize $(QUANTIZE) || $(EXPORT_DEMO) --quantize none
	$(PY) -m web --model-dir $(OUT)/web_model --port $(PORT)

train: setup
	$(PY) -m train --out $(OUT)

export: setup
	$(EXPORT_DEMO) --quantize $(QUANTIZE) || $(EXPORT_DEMO) --quantize none

serve: setup
	$(PY) -m web --model-dir $(OUT)/web_model --port $(PORT)

## test: everything the tests need (Chromium included, where we may install it), then every test
## but the slow end-to-end runs (a few minutes; each capability keeps a quick test here)
test: setup
	bash scripts/install-chromium.sh
	$(PY) -m pytest -m "not slow"

## test-slow: the end-to-end runs `make test` leaves out (full-set export, wheel install, benchmark
## smoke runs, repeat and multi-device training); CI runs both
test-slow: setup
	bash scripts/install-chromium.sh
	$(PY) -m pytest -m slow

## lint: ruff for the Python, ESLint (eslint.config.js) for the JavaScript
lint: setup
	$(VENV)/bin/ruff check .
	node_modules/.bin/eslint .

## bench: the benchmark suite (figures printed, written under docs/); wrk from Debian when root
bench: setup
	bash scripts/install-chromium.sh
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && echo "installing Debian's wrk for the server benchmark…" && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } \
	  || echo "wrk not installed: the server benchmark uses its Python load generator"
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) node_modules test-artifacts .pytest_cache
