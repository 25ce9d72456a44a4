// Points an instance's route at other units through HAProxy's runtime API,
// without a reload: each server slot (`s<n>`, render/haproxy-cfg.ts) gets the
// unit's name as its FQDN and its address now, and is marked up (the unit
// passed its own health check; the edge need not wait for `rise` checks). A
// reload would close the workers' idle client connections, which clients on
// keep-alive see as resets. Only when the number of servers changes is the
// configuration rendered and reloaded. Once switched, the rendered configuration
// is written to the edges' volumes without a reload, for their next start.
import { edgeNetwork } from '../../compose/platform.js';
import type { Engine } from '../../engines/engine.js';
import { OdpError } from '../../errors.js';
import type { PlatformDir } from '../../platformdir/load.js';
import { backendName, serverSlot } from '../../render/haproxy-cfg.js';
import type { EdgeControl } from '../edge/edge-sync.js';

export interface SlotState {
  name: string;
  addr: string;
  fqdn: string;
  /** Operationally UP (srv_op_state 2). */
  up: boolean;
}

/** `show servers state <backend>`, version 1: srv_name is field 4, srv_addr 5, srv_op_state 6, srv_fqdn 18. */
export function slots(text: string): SlotState[] {
  return text
    .split('\n')
    .filter((l) => /^\d+ /.test(l))
    .map((l) => l.split(' '))
    .map((f) => ({ name: f[3] ?? '', addr: f[4] ?? '', fqdn: f[17] ?? '', up: f[5] === '2' }));
}

/**
 * Routes `domain` to `servers` (unit names). Resolves once the edge's state
 * shows every slot at its unit's address; false when the configuration had to
 * be reloaded instead (the slots differ in number).
 */
export async function switchEdge(
  engine: Engine,
  edge: EdgeControl,
  pd: PlatformDir,
  domain: string,
  servers: string[],
  /** Write the configuration for the edges' next start (false: the caller does it later). */
  opts: { persist: boolean } = { persist: true },
): Promise<boolean> {
  const backend = backendName(domain);
  const have = await edge.runtime(pd, [`show servers state ${backend}`]);
  if (servers.length === 0 || have.some((e) => slots(e.answer).length !== servers.length)) {
    await edge.sync(pd);
    return false;
  }
  const network = edgeNetwork(pd.platform);
  const want = await Promise.all(
    servers.map(async (unit, i) => {
      const addr = await engine.address(unit, network);
      if (!addr) throw new OdpError('DEPLOY_FAILED', `${unit} has no address on the edge's network`);
      return { slot: `${backend}/${serverSlot(i)}`, name: serverSlot(i), unit, addr };
    }),
  );
  const commands = want.flatMap((w) => [
    `set server ${w.slot} fqdn ${w.unit}`,
    `set server ${w.slot} addr ${w.addr} port 80`,
    `set server ${w.slot} health up`,
  ]);
  const deadline = Date.now() + 60_000;
  let now: { unit: string; slots: SlotState[] }[] = [];
  const switched = (state: SlotState[]) =>
    want.every((w) => state.some((s) => s.name === w.name && s.addr === w.addr && s.fqdn === w.unit));
  while (Date.now() < deadline) {
    // One round trip per edge: the changes, then the state they left (every edge, edge-set.ts).
    now = (await edge.runtime(pd, [...commands, `show servers state ${backend}`])).map((e) => ({
      unit: e.unit,
      slots: slots(e.answer),
    }));
    if (now.every((e) => switched(e.slots))) {
      // The edges' files too, so that one restarted later routes the same (no reload).
      if (opts.persist) await edge.persist(pd);
      return true;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new OdpError('DEPLOY_FAILED', `the edge does not route ${domain} to ${servers.join(', ')}`, {
    detail: now
      .filter((e) => !switched(e.slots))
      .flatMap((e) => e.slots.map((s) => `${e.unit}: ${s.name} ${s.fqdn} ${s.addr}`))
      .join('\n'),
  });
}
