import net from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { requireDockerEnvironment } from '../infra/docker-environment.js';
import { git, makeTrainingProject, TRAIN_CONFIG } from '../helpers/git-project.js';

const environment = requireDockerEnvironment(inject('dockerEnvironment'));

beforeAll(() => {
  process.env.DOCKER_HOST = environment.dockerHost;
});

/**
 * A loopback TCP proxy in front of the registry that, while `cut` is set, drops every connection
 * once it has carried `afterBytes` of upload (the registry becomes unreachable in the middle of a
 * push) or, with `stall`, keeps the connection open and silently stops forwarding (it hangs).
 */
async function flakyProxy(
  target: { host: string; port: number },
  afterBytes: number,
  mode: 'drop' | 'stall' = 'drop',
): Promise<{ port: number; heal(): void; close(): Promise<void> }> {
  let cut = true;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let sent = 0;
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (cut && sent > afterBytes) {
        if (mode === 'stall') return;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    heal: () => {
      cut = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a push cut off half-way', () => {
  it('fails with exit 3, and the re-run completes with the same digest', async () => {
    const [host, port] = environment.registry.address.split(':') as [string, string];
    const proxy = await flakyProxy({ host, port: Number(port) }, 256 * 1024);
    try {
      const project = await makeTrainingProject({
        // Enough bytes that the cut lands mid-upload: a layer of 2 MiB of random data.
        files: { Dockerfile: 'FROM debian:bookworm-slim\nRUN head -c 2097152 /dev/urandom > /blob\nCOPY model/ /srv/model/\n' },
      });
      writeFileSync(path.join(project.root, 'mlship.yml'), TRAIN_CONFIG(`file://${project.store}`, `image:\n  repository: 127.0.0.1:${proxy.port}/flaky-${process.pid}\n`));
      git(project.root, 'commit', '-qam', 'image');
      expect((await project.run('train')).error).toBeUndefined();

      const cut = await project.run('build', '--push');
      expect(cut.exitCode).toBe(ExitCode.Infrastructure);
      expect(cut.error?.message).toMatch(/push|registry|refused|broke/i);

      proxy.heal();
      const again = await project.run('build', '--push');
      expect(again.error).toBeUndefined();
      const third = await project.run('build', '--push');
      expect(third.result!.outputs.digest).toBe(again.result!.outputs.digest);
      expect(again.result!.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    } finally {
      await proxy.close();
    }
  });
});

describe('a push to a registry that stops answering', () => {
  it('ends at the deadline with exit 3 naming it, instead of hanging the job', async () => {
    const [host, port] = environment.registry.address.split(':') as [string, string];
    const proxy = await flakyProxy({ host, port: Number(port) }, 256 * 1024, 'stall');
    process.env.MLSHIP_NETWORK_TIMEOUT = '3';
    try {
      const project = await makeTrainingProject({
        files: { Dockerfile: 'FROM debian:bookworm-slim\nRUN head -c 2097152 /dev/urandom > /blob\nCOPY model/ /srv/model/\n' },
      });
      writeFileSync(path.join(project.root, 'mlship.yml'), TRAIN_CONFIG(`file://${project.store}`, `image:\n  repository: 127.0.0.1:${proxy.port}/stalled-${process.pid}\n`));
      git(project.root, 'commit', '-qam', 'image');
      expect((await project.run('train')).error).toBeUndefined();
      const started = Date.now();
      const stalled = await project.run('build', '--push');
      expect(stalled.exitCode).toBe(ExitCode.Infrastructure);
      expect(stalled.error?.message).toContain('made no progress for 3 s');
      expect(stalled.error?.message).toContain(`127.0.0.1:${proxy.port}/stalled-${process.pid}`);
      // Bounded: the deadline, not a hung job (generous for a loaded machine).
      expect(Date.now() - started).toBeLessThan(90_000);
    } finally {
      delete process.env.MLSHIP_NETWORK_TIMEOUT;
      await proxy.close();
    }
  });
});
