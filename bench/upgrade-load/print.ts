// upgrade-under-load.ts's printout: one line per upgrade, then the failed
// requests with the edge's log of them, failures by code, odp's maintenance
// window step by step, and odp's failures beside its peer's.
import type { Row } from './measure.js';

/** `peer`: the upgrade odp is compared with (rows 3 and 4), named in the last line. */
export function print(rows: Row[], peer: string): void {
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(
    `\n${pad('upgrade', 46)}${pad('took', 8)}${pad('requests', 10)}${pad('failures', 10)}${pad('maint.', 8)}${pad('window', 9)}migration`,
  );
  for (const r of rows) {
    const window =
      r.t.firstMaintenance && r.t.lastMaintenance
        ? `${((r.t.lastMaintenance - r.t.firstMaintenance) / 1000).toFixed(1)} s`
        : '-';
    console.log(
      `${pad(r.name, 46)}${pad(`${r.seconds.toFixed(1)} s`, 8)}${pad(String(r.t.requests), 10)}${pad(String(r.t.failures.length), 10)}${pad(String(r.t.maintenance), 8)}${pad(window, 9)}${r.migration !== undefined ? `${r.migration.toFixed(1)} s` : '-'}`,
    );
  }
  for (const r of rows.filter((x) => x.t.failures.length)) {
    console.log(`\n${r.name}: failed requests (first 10) and the edge's log of them:`);
    for (const x of r.t.failures.slice(0, 10)) console.log(`  ${x}`);
    for (const x of r.edgeLog.slice(0, 30)) console.log(`  edge: ${x}`);
    for (const x of r.steps) console.log(`  odp: ${x}`);
  }
  for (const r of rows.filter((x) => x.t.byCode.size)) {
    console.log(`\n${r.name}: failures by code: ${[...r.t.byCode].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  }
  // Where odp's maintenance window goes: the plan's steps in it, as its history timed them.
  for (const r of rows.filter((x) => x.window)) {
    console.log(`\n${r.name}: the maintenance window, step by step (start in the window, duration)`);
    for (const x of r.window!.lines) console.log(`  ${x}`);
  }
  const [odpA, odpB, peerA, peerB] = rows;
  if (odpA && peerA && odpB && peerB) {
    console.log(
      `\nfailures, odp vs ${peer}: without migration ${odpA.t.failures.length} vs ${peerA.t.failures.length}, with migration ${odpB.t.failures.length} vs ${peerB.t.failures.length}`,
    );
  }
}
