#!/usr/bin/env node
// check-responses.js OPENAPI.json RESPONSES.jsonl
//
// Validates every answer the TAP suites received (ParleyTest::req records
// them under PARLEY_RECORD_RESPONSES, one JSON line each: suite, method,
// path, status, content_type, body) against the OpenAPI document: the
// record's path and method must name an operation, the operation must
// declare the status, the content type must be the declared one, and the
// body must match the declared schema (JSON Schema 2020-12, with ajv and
// ajv-formats).  Answers to paths or methods that no operation has (an
// unknown route: 404; a known path with another method: 405 or 501) must be
// a Problem with that status.  GET /openapi.json must answer this very
// document.  Exits 1, with every mismatch listed, when one does not match.
'use strict';

const fs = require('fs');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

const [docPath, recPath] = process.argv.slice(2);
if (!docPath || !recPath) {
  console.error('usage: check-responses.js OPENAPI.json RESPONSES.jsonl');
  process.exit(2);
}
const doc = JSON.parse(fs.readFileSync(docPath, 'utf8'));
const records = fs.readFileSync(recPath, 'utf8').split('\n').filter((l) => l !== '')
  .map((l, i) => {
    try {
      return JSON.parse(l);
    } catch (e) {
      throw new Error(`${recPath}:${i + 1}: not JSON: ${e.message}`);
    }
  });

// OpenAPI's own keywords (e.g. "components" at the root we add below) are
// not JSON Schema's: strict mode off; formats checked.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addFormat('int32', { type: 'number', validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isInteger(n) });

// Every schema is compiled with the document's components at its root, so
// "#/components/schemas/X" resolves as it does in the document.
const validators = new Map();
function validator(key, schema) {
  if (!validators.has(key)) {
    validators.set(key, ajv.compile({ ...schema, $id: `parley:${validators.size}`, components: doc.components }));
  }
  return validators.get(key);
}

// Path templates as regular expressions, literal segments first.
const routes = Object.keys(doc.paths).map((tpl) => ({
  tpl,
  re: new RegExp('^' + tpl.replace(/[.]/g, '\\.').replace(/\{[a-z_]+\}/g, '[^/]+') + '$'),
}));
function findPath(path) {
  const r = routes.find((x) => x.re.test(path));
  return r ? r.tpl : null;
}

const failures = [];
const seen = new Map();
function fail(rec, what) {
  failures.push({ rec, what });
}

function mediaOf(ct) {
  return (ct || '').split(';')[0].trim().toLowerCase();
}

function checkBody(rec, key, schema) {
  let body;
  try {
    body = JSON.parse(rec.body);
  } catch (e) {
    fail(rec, `body is not JSON (${e.message})`);
    return;
  }
  const v = validator(key, schema);
  if (!v(body)) {
    fail(rec, 'body does not match the schema: ' + ajv.errorsText(v.errors, { separator: '; ' }));
  }
}

const problemSchema = { $ref: '#/components/schemas/Problem' };

for (const rec of records) {
  const path = rec.path.split('?')[0];
  const method = rec.method.toUpperCase();
  const isHead = method === 'HEAD';
  // Not part of the API the document describes: the dev-only demo
  // (PARLEY_DEMO=1: its static files and /demo/token, never in production)
  // and CORS preflights (API.md section 7: 204 with the allow headers).
  if (path === '/demo' || path.startsWith('/demo/') || (method === 'OPTIONS' && rec.status === 204)) {
    continue;
  }
  const tpl = findPath(path);
  const op = tpl && doc.paths[tpl][(isHead ? 'GET' : method).toLowerCase()];

  if (!op) {
    // No operation: the HTTP layer's own refusal, always a Problem.
    const allowed = tpl ? [405, 501, 400, 413] : [404, 400, 413, 414, 431];
    if (!allowed.includes(rec.status)) {
      fail(rec, `no operation ${method} ${tpl || path}, yet status ${rec.status} (expected ${allowed.join('/')})`);
    } else if (mediaOf(rec.content_type) !== 'application/problem+json') {
      fail(rec, `a refusal with content type ${rec.content_type}, not application/problem+json`);
    } else if (!isHead) {
      checkBody(rec, 'problem', problemSchema);
    }
    continue;
  }
  const opKey = `${tpl === null ? path : tpl} ${isHead ? 'GET' : method}`;
  const response = op.responses[String(rec.status)];
  seen.set(`${opKey} ${rec.status}`, (seen.get(`${opKey} ${rec.status}`) || 0) + 1);
  if (!response) {
    fail(rec, `status ${rec.status} is not declared for ${opKey} (declared: ${Object.keys(op.responses).join(', ')})`);
    continue;
  }
  const content = response.content || {};
  const media = mediaOf(rec.content_type);
  if (Object.keys(content).length === 0) {
    if (rec.bytes > 0) fail(rec, `status ${rec.status} of ${opKey} declares no body, got ${rec.bytes} bytes`);
    continue;
  }
  if (!content[media]) {
    fail(rec, `content type ${rec.content_type} is not declared for ${opKey} ${rec.status} (declared: ${Object.keys(content).join(', ')})`);
    continue;
  }
  if (isHead || rec.bytes === 0 && media === 'text/event-stream') continue;
  if (media === 'application/json' || media === 'application/problem+json') {
    checkBody(rec, `${opKey} ${rec.status} ${media}`, content[media].schema);
    if (tpl === '/openapi.json' && rec.status === 200 &&
        JSON.stringify(JSON.parse(rec.body)) !== JSON.stringify(doc)) {
      fail(rec, `/openapi.json is not ${docPath}`);
    }
  }
}

let declared = 0;
const missing = [];
for (const [tpl, item] of Object.entries(doc.paths)) {
  for (const [m, op] of Object.entries(item)) {
    for (const st of Object.keys(op.responses)) {
      declared++;
      if (!seen.has(`${tpl} ${m.toUpperCase()} ${st}`)) missing.push(`${m.toUpperCase()} ${tpl} ${st}`);
    }
  }
}
console.log(`openapi-check: ${records.length} answers checked against ${docPath}; ` +
  `${declared - missing.length} of ${declared} declared (operation, status) pairs met`);
if (process.env.PARLEY_OPENAPI_VERBOSE) console.log('never met:\n  ' + missing.join('\n  '));

if (failures.length > 0) {
  console.error(`openapi-check: ${failures.length} answers do not match the OpenAPI document:`);
  for (const { rec, what } of failures.slice(0, 50)) {
    console.error(`- ${rec.suite}: ${rec.method} ${rec.path} -> ${rec.status}: ${what}`);
    console.error(`    body: ${String(rec.body).slice(0, 300)}`);
  }
  if (failures.length > 50) console.error(`  ... and ${failures.length - 50} more`);
  process.exit(1);
}
