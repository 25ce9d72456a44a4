// UnitSpec → Docker's container-create body. Kept apart from the engine so the
// translation reads in one place (and can be checked without a daemon).
import type { ContainerCreateOptions } from 'dockerode';
import type { HealthCheck } from '../../model/stack.js';
import { httpProbe } from '../../render/probe.js';
import { revealEnv } from '../../secret.js';
import { LABEL, unitName, type UnitSpec } from '../engine.js';

const NS = 1_000_000_000;

export function healthcheck(h: HealthCheck): NonNullable<ContainerCreateOptions['Healthcheck']> {
  const test = h.http ? httpProbe(h.http.path, h.http.port) : ['CMD', ...(h.command ?? ['true'])];
  return {
    Test: test,
    Interval: h.intervalSeconds * NS,
    Timeout: h.timeoutSeconds * NS,
    Retries: h.retries,
    StartPeriod: h.startPeriodSeconds * NS,
  };
}

export function containerSpec(u: UnitSpec): ContainerCreateOptions {
  const s = u.service;
  const name = unitName(u.stack, s.name, u.replica);
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
    },
    ...(shared ? {} : { Hostname: name, ExposedPorts: ports }),
    ...(s.health ? { Healthcheck: healthcheck(s.health) } : {}),
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
