// What Odoo's statsd client sends, read as labelled samples. camptocamp's
// monitoring_statsd sends timers (milliseconds) named
//   odoo.http.request.<customer>.<env>
//   odoo.http.button.<customer>.<env>.<model_with_underscores>.<method>
//   odoo.http.workflow.<customer>.<env>.<model>.<signal>
// in statsd's line protocol (`name:value|type[|@rate]`, several lines per
// datagram). Each becomes a metric with labels, so Prometheus can sum and
// filter by customer and environment instead of by name. Pure: the receiver
// (statsd-receiver.ts) feeds it datagrams. Input comes from the network, so
// nothing in it is trusted: malformed lines are counted, not thrown.

/** A sample as Prometheus takes it. */
export interface Sample {
  /** The metric, without its unit suffix: `odoo_http_request`… */
  metric: 'odoo_http_request' | 'odoo_http_button' | 'odoo_http_workflow';
  labels: Record<string, string>;
  /** A timer's duration in seconds. */
  seconds: number;
}

export interface Parsed {
  samples: Sample[];
  /** Lines that were not statsd (or not a timer or counter's number). */
  malformed: number;
  /** Well-formed lines that are none of Odoo's names: counted, never turned into series. */
  unmapped: number;
}

/** A label value as odp keeps it: statsd names carry no spaces; bounded so a sender cannot bloat series. */
const LABEL = /^[\w-]{1,100}$/;
const LINE = /^([^:|\s]{1,300}):(-?\d+(?:\.\d+)?)\|(ms|h|c|g|s)(?:\|@(\d*\.?\d+))?(?:\|#.*)?$/;

/** One statsd line read: its name, its number and whether it is a timer. */
export interface Line {
  name: string;
  value: number;
  timer: boolean;
}

/** One line of a datagram; 'blank' for an empty one, undefined when it is not statsd. */
export function readLine(text: string): Line | 'blank' | undefined {
  const line = text.trim();
  if (line === '') return 'blank';
  const m = LINE.exec(line);
  if (!m) return undefined;
  return { name: m[1]!, value: Number(m[2]), timer: m[3] === 'ms' || m[3] === 'h' };
}

/** One datagram: lines separated by newlines (statsd's batching). */
export function parseDatagram(text: string): Parsed {
  const out: Parsed = { samples: [], malformed: 0, unmapped: 0 };
  for (const text_ of text.split('\n')) {
    const line = readLine(text_);
    if (line === 'blank') continue;
    if (!line) {
      out.malformed++;
      continue;
    }
    const sample = line.timer ? mapTimer(line.name, line.value) : undefined;
    if (sample) out.samples.push(sample);
    else out.unmapped++;
  }
  return out;
}

/** Odoo's three timers, by the number and place of their name's parts. */
export function mapTimer(name: string, ms: number): Sample | undefined {
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  const parts = name.split('.');
  if (parts[0] !== 'odoo' || parts[1] !== 'http' || !parts.slice(3).every((p) => LABEL.test(p)))
    return undefined;
  const seconds = ms / 1000;
  const [, , kind, customer, environment, model, method] = parts;
  if (kind === 'request' && parts.length === 5)
    return {
      metric: 'odoo_http_request',
      labels: { customer: customer!, environment: environment! },
      seconds,
    };
  if (kind === 'button' && parts.length === 7)
    return {
      metric: 'odoo_http_button',
      // As sent: the client wrote the model's dots as underscores (sale_order), and
      // turning them back would be a guess (account.bank_statement).
      labels: { customer: customer!, environment: environment!, model: model!, method: method! },
      seconds,
    };
  if (kind === 'workflow' && parts.length === 7)
    return {
      metric: 'odoo_http_workflow',
      labels: { customer: customer!, environment: environment!, model: model!, signal: method! },
      seconds,
    };
  return undefined;
}
