// Layers of odp, checked by dependency-cruiser (`npm run lint:deps`; decision 0055).
// From the bottom up: the pure core (spec, compose, plan, render, model, versions), then
// state, then operations (src/ops), then the CLI and the server on top. Engines and backends
// are adapters: the core describes what they do, operations drive them.
//
// A type-only import (`import type`, erased at compile time) is no runtime dependency: the
// core may name an engine's types without loading it. Every other rule and the cycle check
// count type-only imports too.

/** The pure core: decides, never does I/O. */
const core = '^src/(platform-spec|compose|plan|render|model)/|^src/versions\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-no-adapter',
      comment:
        'The pure core (spec, compose, plan, render, model, versions) decides what to do; engines ' +
        'and backends do it. A runtime import would make the core load Docker, Postgres or AWS ' +
        'clients. Types only (`import type`) are allowed: they are erased.',
      severity: 'error',
      from: { path: core },
      to: { path: '^src/(engines|backends)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'core-imports-no-upper-layer',
      comment:
        'The pure core is the bottom layer: operations, state, the CLI and the server build on ' +
        'it, never the other way round (not even for a type).',
      severity: 'error',
      from: { path: core },
      to: { path: '^src/(ops|state|cli|server)/' },
    },
    {
      name: 'core-does-no-io',
      comment:
        'The pure core is tested without disks, sockets or processes: it imports no fs, net or ' +
        'child_process, with or without the node: prefix.',
      severity: 'error',
      from: { path: core },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|net|child_process)$' },
    },
    {
      name: 'adapters-import-no-ops',
      comment:
        'Engines and backends are driven by operations (src/ops), not the other way round: an ' +
        'adapter that imports an operation is a cycle between layers waiting to happen.',
      severity: 'error',
      from: { path: '^src/(engines|backends)/' },
      to: { path: '^src/ops/' },
    },
    {
      name: 'ops-import-no-cli-or-server',
      comment:
        'Operations are what the CLI and the server both call; they know neither (no commander, ' +
        'no HTTP handlers, no terminal output conventions).',
      severity: 'error',
      from: { path: '^src/ops/' },
      to: { path: '^src/(cli|server)/' },
    },
    {
      name: 'state-imports-no-ops',
      comment: 'State (src/state) sits below operations: operations record to it, it calls none of them.',
      severity: 'error',
      from: { path: '^src/state/' },
      to: { path: '^src/ops/' },
    },
    {
      name: 'dockerode-only-in-engines',
      comment:
        "The Docker API client is the Docker engine's business (src/engines/docker): everything else " +
        'speaks the Engine and ImageStore interfaces, so a second engine is one new folder ' +
        '(decision 0056). Not even a type: a type names the API it was taken from.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/engines/' },
      to: { path: 'node_modules/(@types/)?dockerode/' },
    },
    {
      name: 'engine-folders-only-through-the-runtime',
      comment:
        "An engine's own folder (src/engines/<kind>/) is loaded by src/runtime.ts alone, which reads " +
        'platform.yaml and builds the engine; operations, the CLI and the server hold the interfaces.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(engines/|runtime\\.ts$)' },
      to: { path: '^src/engines/[^/]+/' },
    },
    {
      name: 'ops-open-no-runtime',
      comment:
        'Operations are handed their engine, image store and edge; which engine runs is decided once, ' +
        'by the CLI or the server opening the runtime.',
      severity: 'error',
      from: { path: '^src/ops/' },
      to: { path: '^src/runtime\\.ts$' },
    },
    {
      name: 'no-circular',
      comment:
        'A cycle makes two modules one (neither can be understood, tested or loaded alone) and ' +
        'ESM evaluation order between them fragile. Move the shared piece into its own module.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
