// UnitSpec → Docker's container-create body. Kept apart from the engine so the
// translation reads in one place (and can be checked without a daemon).
import type { ContainerCreateOptions } from 'dockerode';
import { type HealthCheck, unitName } from '../../model/stack.js';
import { httpProbe } from '../../render/probe.js';
import { revealEnv } from '../../secret.js';
import { LABEL, type UnitSpec } from '../engine.js';

const NS = 1_000_000_000;

/** What the engine accepts beyond the API every supported engine has. */
export interface EngineFeatures {
  /** `Healthcheck.StartInterval`: Docker ≥ 25 (API 1.44); older engines refuse or ignore it. */
  startInterval: boolean;
}

/** The API version from which the engine takes a start interval. */
export const START_INTERVAL_API = '1.44';

export function featuresOf(apiVersion: string): EngineFeatures {
  const [major = 0, minor = 0] = apiVersion.split('.').map(Number);
  const [wantMajor, wantMinor] = START_INTERVAL_API.split('.').map(Number) as [number, number];
  return { startInterval: major > wantMajor || (major === wantMajor && minor >= wantMinor) };
}

export function healthcheck(
  h: HealthCheck,
  features: EngineFeatures = { startInterval: false },
): NonNullable<ContainerCreateOptions['Healthcheck']> & { StartInterval?: number } {
  const test = h.http ? httpProbe(h.http.path, h.http.port) : ['CMD', ...(h.command ?? ['true'])];
  return {
    Test: test,
    Interval: h.intervalSeconds * NS,
    Timeout: h.timeoutSeconds * NS,
    Retries: h.retries,
    StartPeriod: h.startPeriodSeconds * NS,
    // Checks every second while it starts, then every `intervalSeconds`: the engine's
    // own status turns healthy as soon as the unit is (docs/decisions/0050).
    ...(features.startInterval && h.startIntervalSeconds
      ? { StartInterval: h.startIntervalSeconds * NS }
      : {}),
  };
}

export function containerSpec(
  u: UnitSpec,
  features: EngineFeatures = { startInterval: false },
): ContainerCreateOptions {
  const s = u.service;
  const name = unitName(u.stack, s.name, u.replica, u.release);
  const ports = Object.fromEntries(u.publish.map((p) => [`${p.container}/tcp`, {}]));
  const bindings = Object.fromEntries(
    u.publish.map((p) => [`${p.container}/tcp`, [{ HostIp: p.ip, HostPort: p.host ? String(p.host) : '' }]]),
  );
  const shared = u.sharesNetworkWithUnit;
  return {
    name,
    Image: s.image,
    ...(s.command ? { Cmd: s.command } : {}),
    Env: [...s.env].map(([k, v]) => `${k}=${revealEnv(v)}`),
    Labels: {
      ...s.labels,
      [LABEL.replica]: String(u.replica),
      [LABEL.configHash]: u.configHash,
      [LABEL.image]: s.image,
      ...(u.release ? { [LABEL.release]: u.release } : {}),
    },
    // A host name is at most 63 characters (a unit's name may be longer).
    ...(shared ? {} : { Hostname: name.slice(0, 63).replace(/-+$/, ''), ExposedPorts: ports }),
    ...(s.health ? { Healthcheck: healthcheck(s.health, features) } : {}),
    StopTimeout: 30,
    HostConfig: {
      NetworkMode: shared ? `container:${shared}` : u.network,
      ...(shared ? {} : { PortBindings: bindings }),
      Mounts: s.volumes.map((v) => ({ Type: 'volume' as const, Source: v.volume, Target: v.target })),
      RestartPolicy: { Name: 'unless-stopped' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '3' } },
    },
    ...(shared ? {} : { NetworkingConfig: { EndpointsConfig: { [u.network]: { Aliases: [s.name] } } } }),
  };
}

/** The command of a Docker health check (`CMD …` or `CMD-SHELL …`); undefined for none. */
export function healthCommand(test: string[] | undefined): string[] | undefined {
  const [kind, ...rest] = test ?? [];
  if (kind === 'CMD' && rest.length > 0) return rest;
  if (kind === 'CMD-SHELL' && rest[0]) return ['/bin/sh', '-c', rest[0]];
  return undefined;
}
