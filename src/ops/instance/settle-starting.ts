// `odp status` between a deploy and the engine's first steady health check.
import type { Engine, ObservedUnit } from '../../engines/engine.js';

/**
 * A running unit the engine has not checked yet (`starting`: on Docker 20.10 the
 * first steady check comes up to 60 s after a start, docs/decisions/0050) is
 * checked once now with its own check, four at a time: one that passes is
 * healthy. Only units in that window cost a check; the rest are read as they are.
 */
export async function settleStarting(engine: Engine, units: ObservedUnit[]): Promise<void> {
  const waiting = units.filter((u) => u.state === 'running' && u.health === 'starting');
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < waiting.length; i = next++) {
      const u = waiting[i]!;
      if ((await engine.checkNow(u.name)) === true) u.health = 'healthy';
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, waiting.length) }, worker));
}
