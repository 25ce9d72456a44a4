// Layers of odp, checked by dependency-cruiser (`npm run lint:deps`; decision 0055).
// From the bottom up: the pure core (spec, compose, plan, render, model, versions), then
// state, then operations (src/ops), then the CLI and the server on top. Engines and backends
// are adapters: the core describes what they do, operations drive them.
//
// A type-only import (`import type`, erased at compile time) is no runtime dependency: the
// core may name an engine's types without loading it. Every other rule and the cycle check
// count type-only imports too.

/** The pure core: decides, never does I/O. */
const core = '^src/(spec|compose|plan|render|model)/|^src/versions\\.ts$';

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
