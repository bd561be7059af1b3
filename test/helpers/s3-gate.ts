import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A proxy in front of an S3 server that can stop a transfer half-way, deterministically: after
 * `hold(method, allow)` it forwards `allow` more requests of that method and then holds the rest,
 * unanswered, until the client gives up on them. Requests are forwarded untouched (the Host header
 * included, so signatures still match).
 */
export interface S3Gate {
  readonly endpoint: string;
  /** Requests of `method` answered by the server since the gate started. */
  completed(method: string): number;
  /** Requests being held now (the client has not closed them). */
  readonly held: number;
  hold(method: string, allow: number): void;
  open(): void;
  close(): Promise<void>;
}

export async function startS3Gate(target: string): Promise<S3Gate> {
  const upstream = new URL(target);
  const completed = new Map<string, number>();
  let rule: { method: string; remaining: number } | undefined;
  let held = 0;
  const server = http.createServer((request, response) => {
    const method = request.method ?? 'GET';
    if (rule && rule.method === method) {
      if (rule.remaining === 0) {
        held += 1;
        request.resume();
        response.once('close', () => (held -= 1));
        return;
      }
      rule.remaining -= 1;
    }
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
        answer.once('end', () => completed.set(method, (completed.get(method) ?? 0) + 1));
      },
    );
    forwarded.once('error', () => response.destroy());
    request.pipe(forwarded);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    completed: (method) => completed.get(method) ?? 0,
    get held() {
      return held;
    },
    hold(method, allow) {
      rule = { method, remaining: allow };
    },
    open() {
      rule = undefined;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
