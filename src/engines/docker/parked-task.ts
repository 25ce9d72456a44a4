// A one-off task started ahead of its turn and held before its command runs:
// its container is created, attached to its networks and started (the slow
// part on a busy engine), then waits on its standard input for one line. A
// maintenance window then only pays for the command itself. If odp goes away
// while the task waits, its input closes and the task exits without running
// (`read` fails on end of input): nothing runs unattended.
import type Dockerode from 'dockerode';

/** The shell that holds the task: the image's entrypoint and command follow as "$@". */
const HOLD = ['/bin/sh', '-c', 'read -r _ && exec "$@"', 'odp-hold'];

/** Creation options that hold the image's own entrypoint behind the shell. */
export async function heldEntrypoint(
  docker: Dockerode,
  image: string,
): Promise<Pick<Dockerode.ContainerCreateOptions, 'Entrypoint' | 'OpenStdin' | 'StdinOnce' | 'AttachStdin'>> {
  const info = await docker.getImage(image).inspect();
  const own = info.Config?.Entrypoint;
  const entrypoint = Array.isArray(own) ? own : own ? [own] : [];
  return { Entrypoint: [...HOLD, ...entrypoint], OpenStdin: true, StdinOnce: true, AttachStdin: true };
}

/** Attaches to the held task's input and starts it; the returned stream lets it go. */
export async function startHeld(c: Dockerode.Container): Promise<NodeJS.ReadWriteStream> {
  const stream = await c.attach({ stream: true, stdin: true, hijack: true });
  await c.start();
  return stream;
}

/** Lets a held task run its command. */
export function release(stream: NodeJS.ReadWriteStream): void {
  stream.end('go\n');
}
