// Whether a process of this machine still runs: what tells a lock, a claimed
// job or an operation left by a killed odp from one still under way.

/** True when `pid` runs here (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}
