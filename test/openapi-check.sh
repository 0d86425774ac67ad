#!/usr/bin/env bash
# make test's checks of the OpenAPI document (gateway/openapi.json, made by
# the gateway's build from api/api.txt, api/shapes.json, api/errcodes.txt):
#   1. @apidevtools/swagger-parser validates it (OpenAPI 3.1 schema, $refs)
#   2. redocly lint passes with no errors (rules: test/node/redocly.yaml)
#   3. make clients: openapi-typescript types and clients/ts/example.ts
#      compile with tsc
#   4. with RESPONSES.jsonl (the answers the TAP suites recorded): every
#      answer matches the schema of its operation and status
#      (test/node/check-responses.js)
#
#   bash test/openapi-check.sh [RESPONSES.jsonl]
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

bash test/node-deps.sh
make -s -C gateway PG_CONFIG="$PG_CONFIG" openapi.json
doc=$PWD/gateway/openapi.json
bin=$PWD/test/node/node_modules/.bin
failed=0

echo "openapi-check: swagger-parser"
node test/node/validate.js "$doc" || failed=1

echo "openapi-check: redocly lint"
# No telemetry, no update check (make test must not need the network); the
# banner filter: redocly's notice about Node 20's end of life is not about
# the document.
if ! out=$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true REDOCLY_SUPPRESS_NOTIFICATIONS=true \
    "$bin/redocly" lint --config test/node/redocly.yaml --format=stylish "$doc" 2>&1); then
    failed=1
fi
printf '%s\n' "$out" | grep -v '[║╔╚]' | sed '/^$/d; s/^/  /'

echo "openapi-check: make clients"
make -s clients || failed=1

if [ $# -gt 0 ]; then
    echo "openapi-check: recorded answers"
    if [ -s "$1" ]; then
        node test/node/check-responses.js "$doc" "$1" || failed=1
    else
        echo "  no answers recorded in $1" >&2
        failed=1
    fi
fi
exit $failed
