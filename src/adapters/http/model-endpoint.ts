import http from 'node:http';
import https from 'node:https';

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
 */
export class ModelEndpoint {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(
    baseUrl: string,
    private readonly options: { readonly timeoutMs: number; readonly connections: number; readonly signal?: AbortSignal | undefined },
  ) {
    this.url = new URL(baseUrl);
    const Agent = this.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  }

  get origin(): string {
    return this.url.origin;
  }

  predict(rows: readonly unknown[]): Promise<PredictAnswer> {
    const payload = Buffer.from(JSON.stringify({ rows }));
    const target = new URL('predict', this.url.href.endsWith('/') ? this.url.href : `${this.url.href}/`);
    const client = target.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e6;
      let settled = false;
      const finish = (answer: Omit<PredictAnswer, 'latencyMs'>): void => {
        if (settled) return;
        settled = true;
        resolve({ ...answer, latencyMs: elapsed() });
      };
      const request = client.request(
        target,
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': payload.length, accept: 'application/json' },
          timeout: this.options.timeoutMs,
          ...(this.options.signal ? { signal: this.options.signal } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_BODY_BYTES) chunks.push(chunk);
          });
          response.on('error', (error) => finish({ status: response.statusCode ?? 0, error: error.message }));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              body = undefined;
            }
            finish({
              status: response.statusCode ?? 0,
              modelVersion: header(response.headers['x-model-version']),
              digest: header(response.headers['x-image-digest']),
              body,
              ...(body === undefined ? { error: `the answer is not JSON: ${JSON.stringify(text.slice(0, 120))}` } : {}),
            });
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)));
      request.on('error', (error: NodeJS.ErrnoException) => finish({ status: 0, error: error.code && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message }));
      request.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
