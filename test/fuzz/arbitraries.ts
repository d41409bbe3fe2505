/**
 * fast-check generators shared by the fuzz suites: hostile JSON values (wrong types, unicode
 * including lone surrogates, huge strings, deep nesting), malformed byte strings, and the
 * operations of the gateway's own OpenAPI document with the shapes of their inputs, so a route
 * added tomorrow is fuzzed without touching these files. Not a test file.
 */
import fc from 'fast-check';

/** The seed of every property in a run: FUZZ_SEED replays a reported failure; otherwise random. */
export const FUZZ_SEED = process.env['FUZZ_SEED'] === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env['FUZZ_SEED']);

/** Any string: full unicode, lone surrogates, control characters, the odd very long one. */
export const anyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('\ud800', '\udfff', 'a\u0000b', '\u202e', '../../etc/passwd', "' OR 1=1 --", '%00', '${7*7}', '__proto__', 'constructor', '\r\nX-Injected: 1') },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 70_000 }).map((n) => 'Ω'.repeat(n)) },
);

/** JSON-representable values of every type, weighted towards the wrong ones for a typed field. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(-1, 0, 2 ** 53, -(2 ** 63), 1e308, 0.5, 16384, 128),
    anyString,
    fc.uuid(),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(anyString, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** A JSON text nested `depth` levels deep (arrays or objects). */
export const deepJson = fc.tuple(fc.integer({ min: 100, max: 50_000 }), fc.boolean()).map(([depth, arrays]) => (arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)));

/** Bytes that are not JSON (or only nearly): random bytes, truncated JSON, BOMs, NULs. */
export const malformedJson = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.json().map((j) => Buffer.from(j.slice(0, Math.max(1, Math.floor(j.length / 2))) + (j.length > 1 ? '' : '{'))),
  fc.constantFrom('{', '{"a":', '{"a":1,}', "{'a':1}", 'NaN', '\ufeff{}', '{"a":1}\u0000', '[1,2', '{"__proto__":{"isAdmin":true}}', '{"a":"\\ud800"}', '{"a":1e999999}').map((s) => Buffer.from(s)),
);

export interface Operation {
  readonly method: string;
  readonly path: string;
  readonly pathParams: readonly string[];
  readonly queryParams: readonly string[];
  /** Content types of the request body; empty when it takes none. */
  readonly bodyTypes: readonly string[];
  /** Top-level property names of the (first) body schema. */
  readonly bodyKeys: readonly string[];
  /** Content types each documented status answers with (`'404': ['text/html']`). */
  readonly responseTypes: Readonly<Record<string, readonly string[]>>;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

/** Every operation in an OpenAPI 3.1 document, with the names of its inputs ($refs resolved). */
export function operationsOf(doc: unknown): Operation[] {
  const root = obj(doc);
  const resolve = (v: unknown, seen = 0): Json => {
    const o = obj(v);
    const ref = o['$ref'];
    if (typeof ref !== 'string' || seen > 10) return o;
    const target = ref.replace(/^#\//, '').split('/').reduce<unknown>((at, part) => obj(at)[part], root);
    return resolve(target, seen + 1);
  };
  const keysOf = (schema: unknown): string[] => {
    const s = resolve(schema);
    const own = Object.keys(obj(s['properties']));
    const parts = ['allOf', 'anyOf', 'oneOf'].flatMap((k) => (Array.isArray(s[k]) ? (s[k] as unknown[]) : []));
    return [...new Set([...own, ...parts.flatMap(keysOf)])];
  };
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(obj(root['paths']))) {
    for (const [method, raw] of Object.entries(obj(item))) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const op = obj(raw);
      const params = (Array.isArray(op['parameters']) ? (op['parameters'] as unknown[]) : []).map((p) => resolve(p));
      const content = obj(resolve(op['requestBody'])['content']);
      const bodyTypes = Object.keys(content);
      const first = bodyTypes[0];
      ops.push({
        method: method.toUpperCase(),
        path,
        pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? ''),
        queryParams: params.filter((p) => p['in'] === 'query').map((p) => String(p['name'])),
        bodyTypes,
        bodyKeys: first === undefined ? [] : keysOf(obj(content[first])['schema']),
        responseTypes: Object.fromEntries(Object.entries(obj(op['responses'])).map(([status, r]) => [status, Object.keys(obj(resolve(r)['content']))])),
      });
    }
  }
  return ops;
}

/** Path segments sent without further encoding: invalid UTF-8 and encoded traversal. */
export const RAW_PATH_VALUES: readonly string[] = ['%ED%A0%80', '%FF%FE', '%2e%2e', '%00', '%2F..%2F'];

/** A value for a path parameter: the plausible kinds (uuid, small int, '*') and the hostile ones. */
export const pathValue = fc.oneof(fc.uuid(), fc.integer({ min: -5, max: 200 }).map(String), fc.constant('*'), anyString.map((s) => s.slice(0, 300)).filter((s) => s.length > 0), fc.constantFrom('..', 'null', '0x10', '1e3', '9'.repeat(40), ...RAW_PATH_VALUES));

export interface FuzzBody {
  readonly kind: string;
  readonly contentType: string | undefined;
  readonly bytes: Buffer | undefined;
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v) ?? 'null');

/** A request body for an operation: right keys with wrong types, any JSON, huge, deep, malformed, wrong type, none. */
export function bodyFor(op: Operation): fc.Arbitrary<FuzzBody> {
  const declared = op.bodyTypes[0] ?? 'application/json';
  const keyed = op.bodyKeys.length === 0 ? fc.dictionary(anyString, anyJson, { maxKeys: 4 }) : fc.record(Object.fromEntries(op.bodyKeys.map((k) => [k, anyJson])), { requiredKeys: [] });
  const asDeclared = (b: Buffer): Buffer => (declared.includes('x-www-form-urlencoded') ? Buffer.from(new URLSearchParams(Object.entries(obj(JSON.parse(b.toString('utf8')))).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')])).toString()) : b);
  return fc.oneof(
    { weight: 5, arbitrary: keyed.map((v) => ({ kind: 'declared keys, wrong types', contentType: declared, bytes: asDeclared(json(v)) })) },
    { weight: 2, arbitrary: anyJson.map((v) => ({ kind: 'any JSON', contentType: 'application/json', bytes: json(v) })) },
    { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 900_000 }).map((n) => ({ kind: 'huge string', contentType: 'application/json', bytes: json(Object.fromEntries((op.bodyKeys.length ? op.bodyKeys : ['x']).map((k) => [k, 'A'.repeat(n)]))) })) },
    { weight: 1, arbitrary: deepJson.map((s) => ({ kind: 'deep nesting', contentType: 'application/json', bytes: Buffer.from(s) })) },
    { weight: 2, arbitrary: malformedJson.map((b) => ({ kind: 'malformed JSON', contentType: 'application/json', bytes: b })) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/octet-stream', 'application/jsonx', ''), keyed).map(([ct, v]) => ({ kind: 'wrong content type', contentType: ct, bytes: json(v) })),
    },
    { weight: 1, arbitrary: fc.constantFrom<FuzzBody>({ kind: 'no body', contentType: undefined, bytes: undefined }, { kind: 'empty body', contentType: declared, bytes: Buffer.alloc(0) }) },
  );
}

/** Query strings: the declared names with hostile values, unknown names, repeats. */
export function queryFor(op: Operation): fc.Arbitrary<[string, string][]> {
  // Bounded so the URL stays under Node's 16 KiB header limit: past it Node answers 431 itself, before the app.
  const short = anyString.map((s) => s.slice(0, 200));
  const name = op.queryParams.length === 0 ? short : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...op.queryParams) }, { weight: 1, arbitrary: short });
  const value = fc.oneof(anyString, fc.uuid(), fc.integer().map(String), fc.constantFrom('', 'true', '-1', '1e400', 'NaN', '2024-13-45T99:99:99Z'));
  return fc.array(fc.tuple(name, value.map((v) => v.slice(0, 400))), { maxLength: 4 });
}
