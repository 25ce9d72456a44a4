// The promise of a plan (issue 11): the dry run printed the steps the run then
// executed, the same ids and kinds, each after the steps it waits for, and the
// history names each by kind and id, never by its text.
import assert from 'node:assert/strict';
import type { PlanStep } from '../../src/plan/step.js';

export interface RecordedStep {
  id: string | null;
  kind: string | null;
  outcome: string;
}

export function assertRanAsPlanned(planned: readonly PlanStep[], recorded: readonly RecordedStep[]): void {
  const ran = recorded.filter((x) => x.id !== null);
  assert.ok(planned.length > 0, 'the plan has steps');
  assert.deepEqual(
    ran.map((x) => x.id).sort(),
    planned.map((x) => x.id).sort(),
    'the dry run printed the steps the run executed',
  );
  const at = new Map(ran.map((x, i) => [x.id, i]));
  for (const step of planned) {
    assert.equal(ran[at.get(step.id)!]?.kind, step.kind, step.id);
    for (const a of step.after) assert.ok(at.get(a)! < at.get(step.id)!, `${a} ran before ${step.id}`);
  }
  assert.ok(
    ran.every((x) => x.outcome === 'ok'),
    ran.map((x) => `${x.id} ${x.outcome}`).join('\n'),
  );
}
