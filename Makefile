# The two commands: `make run` (the whole chat, embedded, at http://127.0.0.1:8000)
# and `make test` (the whole suite). Both need only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run stack test install install-dev migrate clean bench api-sdl

# The runtime (requirements.txt) for `make run`; the tests' and the benchmark's tools on top
# (requirements-dev.txt) for `make test` and `make bench`. Each stamp is redone when its file changes.
$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

install-dev: $(BIN)/.installed-dev

migrate: install
	env -u AMQP_URL $(BIN)/python manage.py migrate --noinput

# The embedded default: SQLite, no broker, tasks and fan-out in the one web process,
# served by the Procfile's own `web` command (on 127.0.0.1 only).
run: install
	env -u AMQP_URL $(BIN)/python manage.py migrate --noinput
	env -u AMQP_URL HOST=127.0.0.1 PORT=$(PORT) PATH="$(CURDIR)/$(BIN):$$PATH" bash -c "exec $$(sed -n 's/^web: //p' Procfile)"

# The full stack on this machine (RabbitMQ and PostgreSQL up, AMQP_URL and DATABASE_URL set):
# migrate, then the Procfile's processes, their output together; Ctrl-C stops them all.
# `make stack STACK_ARGS=--web=2` runs two webs (PORT, PORT+1); see chatsite/stack.py.
stack: install
	PORT=$(PORT) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m chatsite.stack $(STACK_ARGS)

# Full-stack tests run when AMQP_URL (and DATABASE_URL for PostgreSQL) are set; see .ci/run.
test: install-dev
	SECRET_KEY="$${SECRET_KEY:-test-only-secret-key-that-is-long-enough}" PATH="$(CURDIR)/$(BIN):$$PATH" \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

# The benchmark (bench/README.md): the Procfile's processes on a database and vhost of their
# own, driven by real clients; a table, then one JSON line. `make bench BENCH_ARGS=--help`.
bench: install-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench.run $(BENCH_ARGS)

# Rewrite the SDL in docs/api.md from the schema (tests/test_docs.py fails when they differ).
api-sdl: install-dev
	env -u AMQP_URL $(BIN)/python -m tests.test_docs

clean:
	rm -rf $(VENV) staticfiles test-artifacts .pytest_cache
