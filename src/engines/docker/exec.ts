// Running a command inside a unit through the Docker API's exec: stdin fed
// from a stream, stdout to a stream with backpressure (a dump of any size never
// sits in memory), stderr's tail kept for the error message.
import { Transform, Writable, type Duplex, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';
import type { ExecOptions, ExecResult } from '../engine.js';
import { messageOf, statusOf } from './api-errors.js';

/** Runs a command in a running container, streaming stdin/stdout with backpressure. */
export async function execIn(
  docker: Dockerode,
  unit: string,
  command: string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const what = `${command[0] ?? 'a command'} in ${unit}`;
  let exec: Dockerode.Exec;
  let socket: Duplex;
  try {
    exec = await docker.getContainer(unit).exec({
      Cmd: command,
      Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
      AttachStdin: opts.stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      ...(opts.user ? { User: opts.user } : {}),
    });
    socket = await exec.start({ hijack: true, stdin: opts.stdin !== undefined });
  } catch (e) {
    throw new OdpError(statusOf(e) === 404 ? 'NOT_FOUND' : 'ENGINE', `cannot run ${what}: ${messageOf(e)}`, {
      cause: e,
    });
  }
  const stderr = new Tail(64 * 1024);
  const collected: Buffer[] = [];
  const out =
    opts.stdout ??
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        collected.push(chunk);
        cb();
      },
    });
  // Input and output share one connection. The end of the input half-closes it
  // (the command reads end of file); the output ends when the command exits.
  const input = opts.stdin as Readable | undefined;
  let inputEnded = input === undefined;
  socket.on('error', () => undefined); // reported through the output side
  if (input) {
    input.once('end', () => (inputEnded = true));
    // A failed source: the command reads end of file, and says what it makes of it.
    input.once('error', () => socket.end());
    input.pipe(socket);
  }
  const demux = new Demux((b) => stderr.push(b));
  socket.once('error', (e) => demux.destroy(e));
  socket.pipe(demux);
  try {
    await pipeline(demux, out);
  } catch (e) {
    // Whoever read the output failed. A command blocked writing into a full pipe
    // would never exit, so its output is read and dropped for a while, for the
    // caller to end it its own way (a database backend terminated…).
    socket.unpipe(demux);
    await drain(socket, EXEC_DRAIN_MS);
    socket.destroy();
    input?.unpipe(socket);
    throw new OdpError('ENGINE', `${what} failed: ${messageOf(e)}`, { cause: e });
  }
  if (input && !inputEnded) {
    // The command exited before reading all its input: whoever feeds it learns
    // (through the pipe it writes into) that nobody reads any more.
    input.unpipe(socket);
    input.destroy(new Error(`${what} exited before reading all its input`));
  }
  socket.destroy();
  for (let i = 0; ; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) {
      return {
        exitCode: info.ExitCode,
        stdout: Buffer.concat(collected).toString('utf8'),
        stderr: stderr.text(),
      };
    }
    if (i >= 100) throw new OdpError('ENGINE', `${what}: its output ended but it did not exit`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How long a failed exec's output is still read, for its command to exit instead of blocking. */
const EXEC_DRAIN_MS = 30_000;

/** Reads and drops what `stream` still sends, until it ends or `ms` pass. */
function drain(stream: Duplex, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.readableEnded) return resolve();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stream.once('end', done);
    stream.once('close', done);
    stream.resume();
  });
}

/**
 * Splits Docker's multiplexed output (8-byte headers: stream, 0, 0, 0, size32be)
 * as it streams: stdout passes on with backpressure, stderr goes to `onStderr`.
 */
class Demux extends Transform {
  #header = Buffer.alloc(0);
  #left = 0;
  #stream = 1;

  constructor(private readonly onStderr: (b: Buffer) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#left === 0) {
        const take = chunk.subarray(i, i + 8 - this.#header.length);
        i += take.length;
        this.#header = Buffer.concat([this.#header, take]);
        if (this.#header.length < 8) break;
        this.#stream = this.#header[0]!;
        this.#left = this.#header.readUInt32BE(4);
        this.#header = Buffer.alloc(0);
        continue;
      }
      const part = chunk.subarray(i, i + this.#left);
      i += part.length;
      this.#left -= part.length;
      if (this.#stream === 2) this.onStderr(part);
      else this.push(part);
    }
    cb();
  }
}

/** The last `max` bytes written to it. */
class Tail {
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(private readonly max: number) {}

  push(b: Buffer): void {
    this.#chunks.push(b);
    this.#size += b.length;
    while (this.#size - this.#chunks[0]!.length >= this.max) this.#size -= this.#chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}
