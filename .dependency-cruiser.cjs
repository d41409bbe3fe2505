/**
 * The dependency direction of DESIGN.md §2, enforced in `npm test`. Arrows = may import:
 *   core → (nothing of ours)        media → core          workers → core
 *   gateway → core, media (public API: media/index.ts)   sdk → core/protocol
 *   web-client → core/protocol, sdk                      load-tests → sdk only
 *   bin → everything (composition roots)                 test helpers and *.test.ts → anything
 * No cycles anywhere.
 */
const ours = '^(core|gateway|media|workers|sdk|web-client|bin|load-tests|test)/';
const testFile = '(^test/|\\.test\\.ts$|/test-fixtures/)';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Cycles make lifecycles and tests brittle.', from: {}, to: { circular: true } },
    { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
    {
      name: 'core-is-the-bottom',
      severity: 'error',
      comment: 'core/ is shared by every process and imports none of them.',
      from: { path: '^core/', pathNot: testFile },
      to: { path: ours, pathNot: '^core/' },
    },
    {
      name: 'gateway-direction',
      severity: 'error',
      from: { path: '^gateway/', pathNot: testFile },
      to: { path: ours, pathNot: '^(core|gateway)/|^media/index\\.ts$' },
    },
    {
      name: 'media-direction',
      severity: 'error',
      from: { path: '^media/', pathNot: testFile },
      to: { path: ours, pathNot: '^(core|media)/' },
    },
    {
      name: 'workers-direction',
      severity: 'error',
      from: { path: '^workers/', pathNot: testFile },
      to: { path: ours, pathNot: '^(core|workers)/' },
    },
    {
      name: 'sdk-direction',
      severity: 'error',
      comment: 'The SDK ships to clients: it may only share the wire protocol schemas.',
      from: { path: '^sdk/', pathNot: testFile },
      to: { path: ours, pathNot: '^(sdk|core/protocol)/' },
    },
    {
      name: 'web-client-direction',
      severity: 'error',
      from: { path: '^web-client/', pathNot: testFile },
      to: { path: ours, pathNot: '^(web-client|sdk|core/protocol)/' },
    },
    {
      name: 'load-tests-are-black-box',
      severity: 'error',
      comment: 'Load tools drive a running deployment; they import nothing from the server folders.',
      from: { path: '^load-tests/' },
      to: { path: '^(core|gateway|media|workers|bin)/' },
    },
    {
      name: 'nothing-imports-bin',
      severity: 'error',
      comment: 'bin/ holds composition roots and CLI wiring; nothing depends on it.',
      from: { path: ours, pathNot: '^bin/|' + testFile },
      to: { path: '^bin/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|data|coverage|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    includeOnly: ours + '|^node_modules/',
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'], conditionNames: ['import', 'require', 'node', 'types', 'default'] },
  },
};
