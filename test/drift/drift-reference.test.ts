import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRAIN_CONFIG, git, makeTrainingProject } from '../helpers/git-project.js';

function rows(count: number, shift: number): string {
  const lines = ['x,y,label'];
  for (let i = 0; i < count; i++) lines.push(`${((i * 37) % 101) / 10 + shift},${(i * 53) % 17},${i % 2}`);
  return `${lines.join('\n')}\n`;
}

describe('mlship drift: the reference is production\'s data by default', () => {
  it('compares the refreshed data with the data production was trained on, pulled into a scratch place, the workspace untouched', async () => {
    const project = await makeTrainingProject({ files: { 'data/train.csv': rows(120, 0) } });
    writeFileSync(path.join(project.root, 'mlship.yml'), TRAIN_CONFIG(`file://${project.store}`, 'drift: { current: data/train.csv, ignore: [label] }\n'));
    git(project.root, 'commit', '-qam', 'drift config');
    expect((await project.run('data', 'push')).error).toBeUndefined();
    const trained = await project.run('train');
    expect(trained.error).toBeUndefined();
    await project.run('registry', 'alias', 'set', 'production', trained.result!.outputs['model-version'] as string);

    // The scheduled job refreshes the data and snapshots it: mlship.lock no longer names production's version.
    const refreshed = rows(120, 3);
    writeFileSync(path.join(project.root, 'data/train.csv'), refreshed);
    expect((await project.run('data', 'snapshot')).error).toBeUndefined();

    const run = await project.run('drift');
    expect(run.error).toBeUndefined();
    expect(run.result!.outputs['drifted-features']).toEqual(['x']);
    expect(run.result!.summary).toMatch(/Reference: production's data \([0-9a-f]{12}: data\/train\.csv\), 120 rows\. Current: data\/train\.csv, 120 rows\./);
    expect(readFileSync(path.join(project.root, 'data/train.csv'), 'utf8')).toBe(refreshed);
    expect(readdirSync(path.join(project.root, '.mlship/drift/reference'))).toHaveLength(1);
  });

  it('with no production model yet, says how to name a reference (exit 2)', async () => {
    const project = await makeTrainingProject();
    writeFileSync(path.join(project.root, 'mlship.yml'), TRAIN_CONFIG(`file://${project.store}`, 'drift: { current: data/train.csv }\n'));
    const run = await project.run('drift');
    expect(run.exitCode).toBe(2);
    expect(run.error!.message).toMatch(/has no "production" alias yet; set drift\.reference or pass --reference FILE\|DIR/);
  });
});
