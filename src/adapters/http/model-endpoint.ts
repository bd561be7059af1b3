import net from 'node:net';
import tls from 'node:tls';
import httpParser from 'http-parser-js';

const { HTTPParser } = httpParser;
type Parser = InstanceType<typeof HTTPParser>;

/** One answer of a model server to `POST /predict`, or why there was none. */
export interface PredictAnswer {
  /** HTTP status; 0 when no answer came (connection refused, timeout…). */
  readonly status: number;
  readonly modelVersion?: string | undefined;
  readonly digest?: string | undefined;
  /** The parsed JSON body, when it was JSON. */
  readonly body?: unknown;
  /** Connection or protocol failure, in words. */
  readonly error?: string | undefined;
  /** From asking for the answer to its last byte. */
  readonly latencyMs: number;
}

export interface EndpointOptions {
  /** One deadline per request, connecting included. */
  readonly timeoutMs: number;
  /** Keep-alive connections at most; requests beyond wait for a free one. */
  readonly connections: number;
  readonly signal?: AbortSignal | undefined;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * A model server reached over HTTP(S), following mlship's serving contract: `POST /predict` with
 * `{"rows": [...]}`. Keep-alive connections (at most `connections`), one deadline per request, and
 * never a throw for what the server does: an answer records the status or the error, so callers
 * count errors instead of stopping at the first.
 *
 * Its own small HTTP/1.1 client over `net`/`tls` with autocannon's parser (http-parser-js) rather
 * than undici or node:http: smoke reports latency percentiles that must agree with autocannon's
 * on a 2-core machine where the client shares the cores with the server it measures, so the
 * client may spend no more per request than autocannon does (undici spends ~1.5×, node:http ~2×).
 */
export class ModelEndpoint {
  private readonly url: URL;
  private readonly requestHead: string;
  private readonly idle: Connection[] = [];
  private readonly waiting: Exchange[] = [];
  private readonly open = new Set<Connection>();
  private closed = false;
  private readonly onAbort = (): void => this.shutDown('interrupted');

  constructor(
    baseUrl: string,
    private readonly options: EndpointOptions,
  ) {
    this.url = new URL(baseUrl);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') throw new Error(`${baseUrl}: expected an http:// or https:// URL`);
    const path = `${this.url.pathname.replace(/\/+$/, '')}/predict`;
    this.requestHead =
      `POST ${path} HTTP/1.1\r\nHost: ${this.url.host}\r\nContent-Type: application/json\r\n` +
      `Accept: application/json\r\nConnection: keep-alive\r\nContent-Length: `;
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get origin(): string {
    return this.url.origin;
  }

  predict(rows: readonly unknown[]): Promise<PredictAnswer> {
    const body = JSON.stringify({ rows });
    const request = Buffer.from(`${this.requestHead}${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return new Promise<PredictAnswer>((resolve) => {
      const exchange = new Exchange(request, resolve);
      if (this.closed || this.options.signal?.aborted) {
        exchange.fail('interrupted');
        return;
      }
      exchange.timer = setTimeout(() => this.timeOut(exchange), this.options.timeoutMs);
      this.dispatch(exchange);
    });
  }

  /** Closes every connection; requests still under way answer `interrupted`. */
  close(): void {
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.shutDown('interrupted');
  }

  private shutDown(reason: string): void {
    this.closed = true;
    for (const exchange of this.waiting.splice(0)) exchange.fail(reason);
    for (const connection of [...this.open]) {
      connection.exchange?.fail(reason);
      connection.destroy();
    }
    this.idle.length = 0;
  }

  private dispatch(exchange: Exchange): void {
    const connection = this.idle.pop();
    if (connection) connection.send(exchange);
    else if (this.open.size < this.options.connections) this.connect().send(exchange);
    else this.waiting.push(exchange);
  }

  private timeOut(exchange: Exchange): void {
    const waitingAt = this.waiting.indexOf(exchange);
    if (waitingAt >= 0) this.waiting.splice(waitingAt, 1);
    const connection = exchange.connection;
    exchange.fail(`no answer in time (${this.options.timeoutMs} ms)`);
    // The late answer would arrive on this connection and be taken for the next request's.
    connection?.destroy();
  }

  private connect(): Connection {
    const port = Number(this.url.port) || (this.url.protocol === 'https:' ? 443 : 80);
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const socket =
      this.url.protocol === 'https:'
        ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }) })
        : net.connect({ host, port });
    const connection = new Connection(socket, {
      released: (released) => this.release(released),
      gone: (gone, retry) => {
        this.open.delete(gone);
        const idleAt = this.idle.indexOf(gone);
        if (idleAt >= 0) this.idle.splice(idleAt, 1);
        if (retry && !this.closed) this.dispatch(retry);
        else this.dispatchWaiting();
      },
    });
    this.open.add(connection);
    return connection;
  }

  private release(connection: Connection): void {
    const next = this.waiting.shift();
    if (next) connection.send(next);
    else this.idle.push(connection);
  }

  /** A connection closed: one waiting request may now open another. */
  private dispatchWaiting(): void {
    const next = this.waiting.shift();
    if (next) this.dispatch(next);
  }
}

/** One request and its answer as it arrives. */
class Exchange {
  timer: NodeJS.Timeout | undefined;
  connection: Connection | undefined;
  status = 0;
  modelVersion: string | undefined;
  digest: string | undefined;
  readonly chunks: Buffer[] = [];
  size = 0;
  /** Whether any byte of the answer arrived; a reused connection that closes before is retried. */
  answered = false;
  retried = false;
  private done = false;
  private readonly started = process.hrtime.bigint();

  constructor(
    readonly request: Buffer,
    private readonly resolve: (answer: PredictAnswer) => void,
  ) {}

  get settled(): boolean {
    return this.done;
  }

  fail(error: string): void {
    this.finish({ status: 0, error });
  }

  complete(): void {
    if (this.size > MAX_BODY_BYTES) {
      this.finish({ status: this.status, modelVersion: this.modelVersion, digest: this.digest, error: 'the answer is larger than 4 MiB' });
      return;
    }
    const text = (this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    this.finish({
      status: this.status,
      modelVersion: this.modelVersion,
      digest: this.digest,
      body,
      ...(body === undefined ? { error: `the answer is not JSON: ${JSON.stringify(text.slice(0, 120))}` } : {}),
    });
  }

  private finish(answer: Omit<PredictAnswer, 'latencyMs'>): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.connection = undefined;
    this.resolve({ ...answer, latencyMs: Number(process.hrtime.bigint() - this.started) / 1e6 });
  }
}

interface ConnectionEvents {
  /** The answer is complete and the connection may carry another request. */
  released(connection: Connection): void;
  /** The connection closed; `retry` is a request it took but never began to answer. */
  gone(connection: Connection, retry: Exchange | undefined): void;
}

/** One keep-alive connection: a socket and the parser of the answers that arrive on it. */
class Connection {
  exchange: Exchange | undefined;
  private readonly parser: Parser = new HTTPParser(HTTPParser.RESPONSE);
  private keepAlive = true;
  private reused = false;
  private connected = false;
  private failure: Error | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly events: ConnectionEvents,
  ) {
    socket.setNoDelay(true);
    socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      if (this.exchange) socket.write(this.exchange.request);
    });
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (error) => {
      this.failure ??= error;
    });
    socket.on('close', () => this.closed());
    this.parser[HTTPParser.kOnHeadersComplete] = (info) => {
      const exchange = this.exchange;
      if (!exchange) return;
      exchange.status = info.statusCode;
      this.keepAlive = info.shouldKeepAlive;
      for (let at = 0; at < info.headers.length; at += 2) {
        const name = info.headers[at]!.toLowerCase();
        if (name === 'x-model-version') exchange.modelVersion ??= info.headers[at + 1];
        else if (name === 'x-image-digest') exchange.digest ??= info.headers[at + 1];
      }
    };
    this.parser[HTTPParser.kOnBody] = (chunk, offset, length) => {
      const exchange = this.exchange;
      if (!exchange) return;
      exchange.size += length;
      if (exchange.size <= MAX_BODY_BYTES) exchange.chunks.push(chunk.subarray(offset, offset + length));
    };
    this.parser[HTTPParser.kOnMessageComplete] = () => this.answered();
  }

  send(exchange: Exchange): void {
    this.exchange = exchange;
    exchange.connection = this;
    this.socket.ref();
    if (this.connected) this.socket.write(exchange.request);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    if (!this.exchange) {
      // Bytes nobody asked for: the connection is out of step with its requests.
      this.socket.destroy();
      return;
    }
    this.exchange.answered = true;
    const parsed = this.parser.execute(chunk);
    if (parsed instanceof Error) {
      this.exchange?.fail(`the answer is not HTTP (${parsed.message})`);
      this.exchange = undefined;
      this.socket.destroy();
    }
  }

  private answered(): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.complete();
    if (!this.keepAlive || this.socket.destroyed) {
      this.socket.destroy();
      return;
    }
    this.reused = true;
    // An idle pooled connection must not keep the process alive.
    this.socket.unref();
    this.events.released(this);
  }

  private closed(): void {
    let exchange = this.exchange;
    if (exchange && !exchange.settled && exchange.answered) {
      // HTTP/1.0 style: an answer without a length ends when the connection does.
      this.parser.finish();
    }
    exchange = this.exchange;
    this.exchange = undefined;
    let retry: Exchange | undefined;
    if (exchange && !exchange.settled) {
      if (this.reused && !exchange.answered && !exchange.retried) {
        // The server closed an idle keep-alive connection as this request went out on it.
        exchange.retried = true;
        exchange.connection = undefined;
        retry = exchange;
      } else {
        exchange.fail(this.failure ? describe(this.failure) : 'the connection closed before the answer was complete');
      }
    }
    this.events.gone(this, retry);
  }
}

/** `connect ECONNREFUSED 127.0.0.1:9`: the system's words, with the code once. */
function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}
