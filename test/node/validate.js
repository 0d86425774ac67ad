#!/usr/bin/env node
// validate.js OPENAPI.json: @apidevtools/swagger-parser's validation (the
// OpenAPI 3.1 schema and every $ref); exits 1 when the document is invalid.
'use strict';

const SwaggerParser = require('@apidevtools/swagger-parser');

SwaggerParser.validate(process.argv[2])
  .then((api) => console.log(`  valid: ${api.info.title} ${api.info.version}, OpenAPI ${api.openapi}`))
  .catch((e) => {
    console.error(`  invalid: ${e.message}`);
    process.exit(1);
  });
