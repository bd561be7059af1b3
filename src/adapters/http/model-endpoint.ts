import { Pool } from 'undici';

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
  /** From sending the request to the last byte of the answer. */
  readonly latencyMs: number;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * A model server reached over HTTP(S), following mlship's serving contract: `POST /predict` with
 * `{"rows": [...]}`. Keep-alive connections (at most `connections`), a deadline per request, and
 * never a throw for what the server does: an answer records the status or the error, so callers
 * count errors instead of stopping at the first.
 *
 * undici (the HTTP client Node's own fetch is built on) rather than node:http: it spends about a
 * third less CPU per request, and a load test on a small machine shares its cores with the server
 * it measures, so the client's own cost shows in the latencies it reports.
 */
export class ModelEndpoint {
  private readonly pool: Pool;
  private readonly url: URL;
  private readonly predictPath: string;

  constructor(
    baseUrl: string,
    private readonly options: { readonly timeoutMs: number; readonly connections: number; readonly signal?: AbortSignal | undefined },
  ) {
    this.url = new URL(baseUrl);
    this.predictPath = `${this.url.pathname.replace(/\/+$/, '')}/predict`;
    this.pool = new Pool(this.url.origin, {
      connections: options.connections,
      pipelining: 1,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: { timeout: options.timeoutMs },
    });
  }

  get origin(): string {
    return this.url.origin;
  }

  async predict(rows: readonly unknown[]): Promise<PredictAnswer> {
    const payload = JSON.stringify({ rows });
    const started = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    try {
      const response = await this.pool.request({
        path: this.predictPath,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: payload,
        ...(this.options.signal ? { signal: this.options.signal } : {}),
      });
      const text = await readLimited(response.body);
      const latencyMs = elapsed();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return {
        status: response.statusCode,
        modelVersion: header(response.headers['x-model-version']),
        digest: header(response.headers['x-image-digest']),
        body,
        ...(body === undefined ? { error: `the answer is not JSON: ${JSON.stringify(text.slice(0, 120))}` } : {}),
        latencyMs,
      };
    } catch (error) {
      return { status: 0, error: describe(error), latencyMs: elapsed() };
    }
  }

  close(): void {
    this.pool.destroy().catch(() => undefined);
  }
}

async function readLimited(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `connect ECONNREFUSED 127.0.0.1:9`: the system's words, with the code once. */
function describe(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const inner = cause instanceof Error ? cause : error instanceof Error ? error : undefined;
  if (!inner) return String(error);
  const code = (inner as NodeJS.ErrnoException).code;
  if (inner.name === 'HeadersTimeoutError' || inner.name === 'BodyTimeoutError' || inner.name === 'ConnectTimeoutError') return `no answer in time (${inner.message})`;
  return code && !inner.message.includes(code) ? `${code}: ${inner.message}` : inner.message;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
