import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, nodeBinary } from '../helpers/bundle.js';
import { makeProject, sha256File, storeObjects } from '../helpers/project.js';

describe('a push killed half-way', () => {
  it('leaves no partial object visible, and the re-run uploads exactly what is missing', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 48; i += 1) files[`data/part-${String(i).padStart(2, '0')}.bin`] = randomBytes(4 << 20);
    const project = makeProject(files);
    expect(spawnSync(nodeBinary(), [CLI, 'data', 'snapshot'], { cwd: project.root }).status).toBe(0);

    const child = spawn(nodeBinary(), [CLI, 'data', 'push'], { cwd: project.root, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Kill as soon as a few objects have landed: mid-way through the upload.
    const deadline = Date.now() + 30_000;
    while (storeObjects(project.store).size < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const landed = storeObjects(project.store);
    expect(landed.size).toBeGreaterThan(0);
    expect(landed.size).toBeLessThan(49); // 48 files + 1 manifest: the kill really was mid-push
    // Every visible object is complete and correct; partial writes stay in tmp/.
    for (const [hash, file] of landed) expect(sha256File(file)).toBe(hash);

    const rerun = spawnSync(nodeBinary(), [CLI, 'data', 'push', '--json'], { cwd: project.root, encoding: 'utf8' });
    expect(rerun.status, rerun.stderr).toBe(0);
    const outputs = JSON.parse(rerun.stdout) as Record<string, number>;
    expect(outputs['uploaded-objects']).toBe(49 - landed.size);
    expect(storeObjects(project.store).size).toBe(49);
    const verify = spawnSync(nodeBinary(), [CLI, 'data', 'verify'], { cwd: project.root, encoding: 'utf8' });
    expect(verify.status, verify.stderr).toBe(0);
    const leftovers = readdirSync(path.join(project.store, 'tmp'));
    expect(leftovers.every((name) => /^[0-9a-f]{64}\.\d+\.[0-9a-f]{12}$/.test(name))).toBe(true);
  }, 90_000);
});
