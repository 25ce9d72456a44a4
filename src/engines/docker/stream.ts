// The engine reports build and import progress as a stream of JSON objects; a
// failed RUN step arrives as an `error` object in that stream, not as an HTTP
// error, so the stream has to be read to the end to know whether it worked.
import type Dockerode from 'dockerode';
import { OdpError } from '../../errors.js';

interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

const TAIL = 25;

/** Resolves when the stream ends cleanly; rejects with the last output lines otherwise. */
export function followDockerStream(
  docker: Dockerode,
  stream: NodeJS.ReadableStream,
  what: string,
  onLine: (line: string) => void = () => undefined,
): Promise<ProgressEvent[]> {
  const tail: string[] = [];
  let failure: string | undefined;
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, output: ProgressEvent[]) => {
        const lines = tail.length > 0 ? `\n${tail.map((l) => `  | ${l}`).join('\n')}` : '';
        if (err) reject(new OdpError('ENGINE', `${what} failed: ${err.message}${lines}`, { cause: err }));
        else if (failure !== undefined) reject(new OdpError('ENGINE', `${what} failed: ${failure}${lines}`));
        else resolve(output);
      },
      (event: ProgressEvent) => {
        if (event.error !== undefined) failure = event.errorDetail?.message ?? event.error;
        const text = event.stream ?? event.status;
        if (text === undefined) return;
        for (const line of text.split('\n')) {
          const clean = line.trimEnd();
          if (!clean) continue;
          tail.push(clean);
          if (tail.length > TAIL) tail.shift();
          onLine(clean);
        }
      },
    );
  });
}
