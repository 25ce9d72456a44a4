// The Swarm engine's pure translations: a unit as a service (and a job), and a
// service's tasks read back as the unit's state (docs/decisions/0069).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type Dockerode from 'dockerode';
import { composePlatform } from '../../src/compose/platform.js';
import { composeStack } from '../../src/compose/stack.js';
import { containerSpec } from '../../src/engines/docker/container-spec.js';
import type { UnitSpec } from '../../src/engines/engine.js';
import { unpinned } from '../../src/engines/swarm/peer.js';
import { jobSpec, oneOffSpec, serviceSpec } from '../../src/engines/swarm/service-spec.js';
import { currentTask, explainTasks, unitStatus, type SwarmTask } from '../../src/engines/swarm/tasks.js';
import { desiredUnits } from '../../src/plan/plan.js';
import { Secret } from '../../src/secret.js';
import { input, project } from '../helpers/specs.js';

const secrets = new Map([
  ['DB_PASSWORD', new Secret('pw')],
  ['ADMIN_PASSWD', new Secret('admin')],
  ['AWS_ACCESS_KEY_ID', new Secret('a')],
  ['AWS_SECRET_ACCESS_KEY', new Secret('b')],
]);
const units = desiredUnits(composeStack(input().platform, project().spec, 'test', secrets).stack, {});
const unit = (name: string): UnitSpec => units.find((u) => u.service.name === name)!;
const template = (s: Dockerode.CreateServiceOptions) => s.TaskTemplate as Dockerode.ContainerTaskSpec;

describe('a unit as a Swarm service', () => {
  test('what Docker gives the container, the task template gives the task', () => {
    const u = { ...unit('db'), publish: [{ container: 5432, host: 0, ip: '127.0.0.1' }] };
    const c = containerSpec(u);
    const s = serviceSpec(u, 1);
    const t = template(s);
    assert.equal(s.Name, c.name);
    assert.deepEqual(s.Labels, c.Labels);
    assert.deepEqual(t.ContainerSpec?.Labels, c.Labels);
    assert.equal(t.ContainerSpec?.Image, c.Image);
    // The same environment, but for the password, a Swarm secret's file (0075).
    const [secret] = t.ContainerSpec?.Secrets ?? [];
    assert.deepEqual(t.ContainerSpec?.Env, [
      ...(c.Env ?? []).filter((e) => !e.startsWith('POSTGRES_PASSWORD=')),
      `POSTGRES_PASSWORD_FILE=/run/secrets/${secret?.SecretName}`,
    ]);
    // And the health check: Swarm's would hide the task's name until it first passed (0074).
    assert.ok(c.Healthcheck);
    assert.deepEqual(t.ContainerSpec?.HealthCheck, { Test: ['NONE'] });
    assert.equal(t.ContainerSpec?.StopGracePeriod, 30e9);
    assert.deepEqual(t.ContainerSpec?.Mounts, [
      {
        Type: 'volume',
        Source: u.service.volumes[0]!.volume,
        Target: '/var/lib/postgresql/data',
        VolumeOptions: {
          NoCopy: false,
          Labels: { 'odp.platform': 'odoo-platform', 'odp.project': 'neomedical', 'odp.instance': 'test' },
          DriverConfig: { Name: 'local', Options: {} },
        },
      },
    ]);
    assert.deepEqual(s.Mode, { Replicated: { Replicas: 1 } });
    assert.deepEqual(t.RestartPolicy, { Condition: 'on-failure' });
    assert.deepEqual(t.Placement, {
      Constraints: ['node.labels.odp.application==true', 'node.labels.odp.integration==true'],
    });
    // Its own network with its service name as an alias; DNS round robin, host-mode ports.
    // Its service's name, and its own name qualified by the network (how a sidecar finds its owner).
    assert.deepEqual(t.Networks, [{ Target: u.network, Aliases: ['db', `${s.Name}.${u.network}`] }]);
    assert.deepEqual(s.EndpointSpec, {
      Mode: 'dnsrr',
      Ports: [{ Protocol: 'tcp', TargetPort: 5432, PublishMode: 'host' }],
    });
  });

  test("a command is the image's arguments, not its entrypoint; created units have 0 replicas", () => {
    const s = serviceSpec(unit('redis'), 0);
    assert.equal(template(s).ContainerSpec?.Command, undefined);
    assert.deepEqual(template(s).ContainerSpec?.Args, unit('redis').service.command);
    assert.deepEqual(s.Mode, { Replicated: { Replicas: 0 } });
  });

  test('Odoo joins the edge network too; a fixed published port is kept', () => {
    const u = { ...unit('odoo'), publish: [{ container: 8069, host: 18069, ip: '0.0.0.0' }] };
    const s = serviceSpec(u, 1);
    assert.deepEqual(
      template(s).Networks?.map((n) => n.Target),
      [u.network, ...u.service.externalNetworks.map((n) => n.name)],
    );
    assert.deepEqual(s.EndpointSpec?.Ports, [
      { Protocol: 'tcp', TargetPort: 8069, PublishedPort: 18069, PublishMode: 'host' },
    ]);
  });

  test('a sidecar in its owner’s network namespace has no Swarm equivalent: refused', () => {
    assert.throws(() => serviceSpec(unit('nginx'), 1), /Swarm has no shared network namespace/);
  });

  test('on a swarm the sidecar is a service of its own, told its Odoo by name, on the edge network', () => {
    const platform = input({ platform: (d) => (d.engine = 'swarm') }).platform;
    const { stack } = composeStack(platform, project().spec, 'test', secrets);
    const all = desiredUnits(stack, {});
    const nginx = all.find((u) => u.service.name === 'nginx')!;
    const odoo = all.find((u) => u.service.name === 'odoo')!;
    const s = serviceSpec(nginx, 1);
    const t = template(s);
    // Its owner by its name on their network: the bare name is the sidecar's own on the edge network.
    assert.ok(
      t.ContainerSpec?.Env?.includes(`NGX_ODOO_HOST=${nginx.sharesNetworkWithUnit}.${nginx.network}`),
    );
    assert.equal(s.Labels?.['odp.peer-of'], nginx.sharesNetworkWithUnit);
    // Looked up per request through Docker's DNS: a replaced Odoo task has a new address.
    const conf = t.ContainerSpec?.Env?.find((e) => e.startsWith('NGINX_CONF='));
    assert.match(conf!, /resolver 127\.0\.0\.11 valid=1s/);
    assert.match(conf!, /set \$odoo_http \$\{NGX_ODOO_HOST\}:8069;/);
    // On the edge network it answers to its Odoo's name (the edge's routes name Odoo units); Odoo is not there.
    assert.deepEqual(t.Networks, [
      { Target: nginx.network, Aliases: ['nginx', `${s.Name}.${nginx.network}`] },
      { Target: `${platform.name}-edge`, Aliases: [nginx.sharesNetworkWithUnit] },
    ]);
    assert.deepEqual(
      template(serviceSpec(odoo, 1)).Networks?.map((n) => n.Target),
      [odoo.network],
    );
    // Neither publishes the sidecar's loopback port: the edge reaches it on the edge network.
    assert.deepEqual(s.EndpointSpec?.Ports, []);
    assert.deepEqual(serviceSpec(odoo, 1).EndpointSpec?.Ports, []);
  });

  test('no links on a swarm: each shared service answers to its link’s name on its tier’s network', () => {
    const platform = input({ platform: (d) => (d.engine = 'swarm') }).platform;
    const shared = desiredUnits(composePlatform(platform, new Map()).stack, {});
    const aliases = (name: string) =>
      (
        template(
          serviceSpec(
            shared.find((u) => u.service.name === name)!,
            1,
          ),
        ).Networks ?? []
      ).flatMap((n) =>
        n.Target === `${platform.name}-shared` ? [] : [`${n.Target} ${(n.Aliases ?? []).join(',')}`],
      );
    const tier = (t: string) => `${platform.name}-shared-${t}`;
    assert.deepEqual(aliases('postgres-prod'), [`${tier('prod')} db`]);
    assert.deepEqual(aliases('postgres-replica'), [`${tier('prod')} `]);
    assert.deepEqual(aliases('postgres-integration'), [`${tier('integration')} db`]);
    assert.deepEqual(aliases('redis-prod'), [`${tier('prod')} redis`]);
    // One Docker host keeps its links: the shared services carry no such name there.
    const docker = composePlatform(input().platform, new Map()).stack.services;
    assert.ok(docker.every((s) => s.externalNetworks.every((n) => n.answersAs === undefined)));
  });

  test('secrets the image also reads from a file are Swarm secrets, never in the service’s spec (0075)', () => {
    const platform = input({ platform: (d) => (d.engine = 'swarm') }).platform;
    const official = project((d) => (d.flavour = 'official')).spec;
    const list = desiredUnits(composeStack(platform, official, 'test', secrets).stack, {});
    const odoo = serviceSpec(
      list.find((u) => u.service.name === 'odoo')!,
      1,
    );
    const db = serviceSpec(
      list.find((u) => u.service.name === 'db')!,
      1,
    );
    for (const [s, variable] of [
      [odoo, 'PASSWORD'],
      [db, 'POSTGRES_PASSWORD'],
    ] as const) {
      const c = template(s).ContainerSpec!;
      const [mount] = c.Secrets ?? [];
      assert.ok(mount?.SecretName?.startsWith('odp-'));
      assert.ok(c.Env?.includes(`${variable}_FILE=/run/secrets/${mount!.SecretName}`));
      assert.ok(!c.Env?.some((e) => e.startsWith(`${variable}=`)));
      assert.deepEqual(mount?.File, { Name: mount!.SecretName, UID: '0', GID: '0', Mode: 0o444 });
      // The value is nowhere in what the manager stores and shows.
      assert.ok(!JSON.stringify(s).includes('=pw'), variable);
    }
    // camptocamp's image reads variables only: its Odoo keeps them in its environment.
    const c2c = desiredUnits(composeStack(platform, project().spec, 'test', secrets).stack, {});
    const c2cOdoo = template(
      serviceSpec(
        c2c.find((u) => u.service.name === 'odoo')!,
        1,
      ),
    ).ContainerSpec!;
    assert.equal(c2cOdoo.Secrets, undefined);
    assert.ok(c2cOdoo.Env?.includes('DB_PASSWORD=pw'));
  });

  test('a sidecar is placed as its owner is, and an old node pin is dropped at its start', () => {
    // Same constraints as its Odoo (test/unit/placement.test.ts), taken as they are: no node pin.
    const platform = input({ platform: (d) => (d.engine = 'swarm') }).platform;
    const all = desiredUnits(composeStack(platform, project().spec, 'prod', secrets).stack, {});
    for (const name of ['odoo', 'nginx']) {
      const u = all.find((x) => x.service.name === name)!;
      assert.deepEqual(template(serviceSpec(u, 1)).Placement, { Constraints: u.placement?.constraints });
    }
    const labels = ['node.labels.odp.application==true'];
    const pinned = { TaskTemplate: { Placement: { Constraints: [...labels, 'node.id==n1'] } } };
    assert.deepEqual(unpinned(pinned).TaskTemplate.Placement.Constraints, labels);
    const loose = { TaskTemplate: { Placement: { Constraints: labels } } };
    assert.equal(unpinned(loose), loose);
  });

  test('a job runs once: one task, never restarted, no health check, no ports', () => {
    const u = { ...unit('db'), publish: [{ container: 5432, host: 0, ip: '127.0.0.1' }] };
    const s = jobSpec(u, ['pg_dump', '--version']);
    const t = template(s);
    // Not `replicated-job`: Docker 20.10 never removes a removed job's tasks (moby/moby#44312).
    assert.deepEqual(s.Mode, { Replicated: { Replicas: 1 } });
    assert.deepEqual(t.RestartPolicy, { Condition: 'none' });
    assert.deepEqual(t.ContainerSpec?.HealthCheck, { Test: ['NONE'] });
    assert.deepEqual(t.ContainerSpec?.Args, ['pg_dump', '--version']);
    assert.deepEqual(s.EndpointSpec, { Mode: 'dnsrr' });
    assert.equal(s.Labels?.['odp.job'], 'true');
    assert.deepEqual(t.Placement, serviceSpec(u, 1).TaskTemplate?.Placement);
    const one = oneOffSpec('odp-one-off-x', 'odp/debian:bookworm', ['true'], { A: 'b' });
    assert.deepEqual(template(one).ContainerSpec?.Env, ['A=b']);
    assert.equal(template(one).Networks, undefined);
  });
});

let clock = 0;
const task = (state: string, desired = 'running', extra: Partial<SwarmTask> = {}): SwarmTask => ({
  ID: `t${++clock}`,
  CreatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, clock)).toISOString(),
  DesiredState: desired,
  Status: { State: state },
  ...extra,
});

describe("a service's tasks as the unit's state", () => {
  test('no task: created (made with 0 replicas), or exited (scaled to 0 after it ran)', () => {
    assert.deepEqual(unitStatus([], true), { state: 'created', health: 'none' });
    assert.deepEqual(unitStatus([], true, true), { state: 'exited', health: 'none' });
  });

  test('RUNNING with a health check has passed it; starting is running, not yet healthy', () => {
    const running = task('running');
    assert.equal(unitStatus([running], true).health, 'healthy');
    assert.equal(unitStatus([running], false).health, 'none');
    assert.deepEqual(
      { ...unitStatus([task('starting')], true), task: undefined },
      { state: 'running', health: 'starting', task: undefined },
    );
    assert.equal(unitStatus([task('starting')], false).state, 'created');
    for (const s of ['new', 'pending', 'assigned', 'preparing'])
      assert.equal(unitStatus([task(s)], true).state, 'created');
  });

  test('the task the orchestrator wants is the unit, whatever history lingers', () => {
    const old = task('shutdown', 'shutdown');
    const now = task('running');
    const older = task('failed', 'shutdown'); // newer, but no longer wanted
    assert.equal(currentTask([old, now, older]), now);
    // Stopped (scaled to 0): its last task, shut down.
    assert.equal(
      unitStatus([task('running', 'shutdown'), task('shutdown', 'shutdown')], true).state,
      'exited',
    );
  });

  test('on its way up again right after a failure: restarting; after a stop and start: created', () => {
    assert.equal(unitStatus([task('failed', 'shutdown'), task('pending')], true).state, 'restarting');
    assert.equal(
      unitStatus([task('failed', 'shutdown'), task('shutdown', 'shutdown'), task('pending')], true).state,
      'created',
    );
  });

  test('ends: complete and shut down exited, failed exited (unhealthy when killed for it), rejected dead', () => {
    const unhealthy = task('failed', 'shutdown', {
      Status: {
        State: 'failed',
        Err: 'task: non-zero exit (137): dockerexec: unhealthy container',
        ContainerStatus: { ExitCode: 137 },
      },
    });
    assert.deepEqual(
      { ...unitStatus([unhealthy], true), task: undefined },
      { state: 'exited', health: 'unhealthy', task: undefined },
    );
    assert.equal(unitStatus([task('complete', 'shutdown')], false).state, 'exited');
    assert.equal(unitStatus([task('rejected', 'shutdown')], false).state, 'dead');
    assert.equal(unitStatus([task('orphaned', 'shutdown')], false).state, 'dead');
    assert.equal(unitStatus([task('remove', 'remove')], false).state, 'removing');
    assert.deepEqual(explainTasks([unhealthy], true), {
      running: false,
      exitCode: 137,
      error: 'task: non-zero exit (137): dockerexec: unhealthy container',
      health: 'unhealthy',
      lastProbe: '',
      restarting: false,
    });
  });
});
