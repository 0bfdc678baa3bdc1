# The targets CI and the README use. Everything installs from this repo's own files:
# Python packages into .venv from PyPI, Chromium and CJK fonts from Debian for the browser tests.
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= demo-data
PORT ?= 8000
# The web tests run a second time on PostgreSQL (trust auth on this machine).
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: install browser demo test lint clean vendor

install: $(VENV)/.installed


$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,spark]'
	touch $@

# From Debian: Chromium for Playwright (never a browser Playwright downloads itself), the
# CJK fonts pages and PDFs use, Pango for WeasyPrint's PDFs, poppler's pdftotext for tests.
# HarfBuzz's subsetter lets WeasyPrint embed only the glyphs a PDF uses (without it, it warns
# and embeds whole fonts). Installed when any one of them is missing.
DEBIAN_PACKAGES := chromium fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0 \
	libharfbuzz-subset0
browser:
	dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq $(DEBIAN_PACKAGES))

demo: install browser
	$(BIN)/loanquality demo --data-dir $(DATA) --port $(PORT)

test: install browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/loanquality/engine
	DJANGO_SETTINGS_MODULE=loanquality.web.test_settings $(BIN)/django-admin makemigrations --check --dry-run
	$(BIN)/pytest
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/pytest tests/web -q

lint: install
	$(BIN)/ruff check src tests benchmarks

# Refresh the vendored front-end files (see src/loanquality/web/static/vendor/README.md).
vendor:
	rm -rf /tmp/loanquality-vendor && mkdir -p /tmp/loanquality-vendor
	cd /tmp/loanquality-vendor && npm pack -q bootstrap@5.3.9 htmx.org@2.0.11 echarts@5.6.0 swagger-ui-dist@5.35.0 \
		&& for f in *.tgz; do mkdir -p $${f%.tgz} && tar xzf $$f -C $${f%.tgz}; done
	V=src/loanquality/web/static/vendor; X=/tmp/loanquality-vendor; \
	cp $$X/bootstrap-5.3.9/package/dist/css/bootstrap.min.css $$X/bootstrap-5.3.9/package/dist/js/bootstrap.bundle.min.js $$X/bootstrap-5.3.9/package/LICENSE $$V/bootstrap/; \
	cp $$X/htmx.org-2.0.11/package/dist/htmx.min.js $$X/htmx.org-2.0.11/package/LICENSE $$V/htmx/; \
	cp $$X/echarts-5.6.0/package/dist/echarts.min.js $$X/echarts-5.6.0/package/LICENSE $$X/echarts-5.6.0/package/NOTICE $$X/echarts-5.6.0/package/licenses/LICENSE-d3 $$V/echarts/; \
	cp $$X/swagger-ui-dist-5.35.0/package/swagger-ui-bundle.js $$X/swagger-ui-dist-5.35.0/package/swagger-ui.css $$X/swagger-ui-dist-5.35.0/package/LICENSE $$X/swagger-ui-dist-5.35.0/package/NOTICE $$V/swagger-ui/

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache
