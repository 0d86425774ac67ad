# parley: the PostgreSQL extension (PGXS) and the parleyd gateway.
#
#   make            build the extension and the gateway
#   make install    install the extension into PostgreSQL (as root)
#   make test       everything: installs missing packages, builds, starts a
#                   throwaway cluster, pg_regress + isolation + gateway tests
#   make run        a local PostgreSQL (unless DATABASE_URL is set) + parleyd
#   make bench      benchmarks (not tests)
#   make deb        Debian packages postgresql-15-parley and parleyd in dist/
#   make clients    TypeScript types of the API (clients/ts/generated/) from
#                   the OpenAPI document, and tsc on clients/ts/example.ts
#                   and (checkJs) on demo/parley.js

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config

# --- the extension, built by PGXS --------------------------------------------
MODULE_big  = parley
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard extension/*.c)))
MODULEDIR   = extension
DATA        = extension/parley.control $(sort $(wildcard migrations/parley--*.sql))
PG_CPPFLAGS = -Iextension -Wall -Wextra -Werror -Wno-unused-parameter \
              -Wno-missing-field-initializers -Wno-sign-compare
# extension/search.c: ICU (Unicode case folding, NFKD, general categories),
# the library PostgreSQL's own collations use (docs/search.md).
SHLIB_LINK  = -licuuc

# pg_regress: every sql/*.sql, in name order; isolation: every spec.
REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --load-extension=plpgsql
ISOLATION    = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation/output_iso \
                 --load-extension=parley

EXTRA_CLEAN = test/isolation/output_iso extension/parley_errcodes.h

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS knows no header dependencies: a changed header (a SQLSTATE, the
# version, a column list) rebuilds every object.
$(OBJS) $(OBJS:%.o=%.bc): $(wildcard extension/*.h) extension/parley_errcodes.h

# Generated from api/errcodes.txt (docs/architecture.md): a build output.
extension/parley_errcodes.h: api/errcodes.txt api/gen-errcodes.pl
	perl api/gen-errcodes.pl --extension $@

# --- the gateway -------------------------------------------------------------
# "make" builds both; "make install" needs only the extension (PGXS's all),
# so a DBA can install it without the gateway's libraries.
.PHONY: build gateway deps test run bench soak fuzz docs deb clients
.DEFAULT_GOAL := build
build: all gateway

gateway:
	$(MAKE) -C gateway PG_CONFIG=$(PG_CONFIG) SANITIZE=$(SANITIZE)

# parley_proxy (proxy/): the PL/Proxy scale-out layer, SQL only (docs/scaling.md).
.PHONY: install-proxy
install: install-proxy
install-proxy:
	$(MAKE) -s -C proxy install PG_CONFIG=$(PG_CONFIG)

# --- generated from api/ -----------------------------------------------------
# Committed files generated from api/errcodes.txt and api/api.txt: "make
# generated" rewrites them, "make check-generated" (part of make test) fails
# when they are stale.  Build outputs (headers, route rows, proxy scripts)
# are made by the rules of the extension, the gateway and proxy/.
.PHONY: generated check-generated
generated:
	perl api/gen-errcodes.pl --docs docs/errors.md
	perl api/gen-api.pl --grants extension/gateway-role.sql
	perl api/gen-api.pl --shard-grants proxy/shard-role.sql
	perl api/gen-api.pl --readme README.md --scaling docs/scaling.md

check-generated:
	perl api/gen-errcodes.pl --docs docs/errors.md --check
	perl api/gen-api.pl --grants extension/gateway-role.sql --check
	perl api/gen-api.pl --shard-grants proxy/shard-role.sql --check
	perl api/gen-api.pl --readme README.md --check
	perl api/gen-api.pl --scaling docs/scaling.md --check
	$(MAKE) -s -C proxy check-released PG_CONFIG=$(PG_CONFIG)

# --- workflows ---------------------------------------------------------------
deps:
	@bash test/install-deps.sh

test:
	@bash test/run-tests.sh

run:
	@bash test/run-local.sh

bench:
	@bash test/bench/run.sh
	@bash test/bench/retention.sh

soak:
	@bash test/soak.sh

fuzz:
	@bash test/fuzz/run.sh

docs:
	@bash test/make-docs.sh

deb:
	@bash test/make-deb.sh

# Typed clients from the OpenAPI document (openapi-typescript, openapi-fetch;
# npm packages of test/node/).  tsc must compile the example client and
# type-check the demo's demo/parley.js (its JSDoc names the generated types).
clients:
	@bash test/node-deps.sh
	@$(MAKE) -s -C gateway PG_CONFIG=$(PG_CONFIG) openapi.json
	@mkdir -p clients/ts/generated
	@test/node/node_modules/.bin/openapi-typescript gateway/openapi.json \
	    -o clients/ts/generated/parley.ts --silent
	@test/node/node_modules/.bin/tsc -p clients/ts
	@echo "clients: clients/ts/generated/parley.ts; clients/ts/example.ts and demo/parley.js type-check"

