import { describe, expect, it } from 'vitest';
import { FileRegistryBackend } from '../../src/adapters/registry/file-backend.js';
import { Registry } from '../../src/domain/registry/registry.js';
import { newRunId, type RunRecord } from '../../src/domain/registry/records.js';
import { ExitCode } from '../../src/errors.js';
import { makeTrainingProject } from '../helpers/git-project.js';
import { temporaryDirectory } from '../helpers/project.js';

function fakeRun(id: string, key: string, status: RunRecord['status'] = 'succeeded'): RunRecord {
  return {
    schema: 1,
    id,
    key,
    project: 'p',
    status,
    startedAt: '2026-11-23T10:00:00.000Z',
    finishedAt: '2026-11-23T10:00:01.000Z',
    durationSeconds: 1,
    command: 'train',
    git: { sha: 'a'.repeat(40), ref: 'main', tree: 'b'.repeat(40), dirty: false },
    dataVersion: `sha256:${'d'.repeat(64)}`,
    params: {},
    metrics: { auc: 0.9 },
    ...(status === 'succeeded' ? { modelVersion: `sha256:${'e'.repeat(64)}` } : {}),
    outputs: {},
    host: 'h',
    user: 'u',
    logTail: [],
  };
}

describe('registry over the file backend', () => {
  it('finds the latest successful run for a key, never a failed one', async () => {
    const registry = new Registry(new FileRegistryBackend(temporaryDirectory()));
    const key = `sha256:${'1'.repeat(64)}`;
    await registry.recordRun(fakeRun('20261123T100000Z-aaaaaa', key));
    await registry.recordRun(fakeRun('20261123T100100Z-bbbbbb', key, 'failed'));
    expect((await registry.runForKey(key))?.id).toBe('20261123T100000Z-aaaaaa');
    await registry.recordRun(fakeRun('20261123T100200Z-cccccc', key));
    expect((await registry.runForKey(key))?.id).toBe('20261123T100200Z-cccccc');
    expect(await registry.runForKey(`sha256:${'2'.repeat(64)}`)).toBeUndefined();
    expect(await registry.runIds()).toEqual(['20261123T100200Z-cccccc', '20261123T100100Z-bbbbbb', '20261123T100000Z-aaaaaa']);
  });

  it('keeps every alias move in an append-only history', async () => {
    const registry = new Registry(new FileRegistryBackend(temporaryDirectory()));
    const v1 = `sha256:${'1'.repeat(64)}`;
    const v2 = `sha256:${'2'.repeat(64)}`;
    expect(await registry.setAlias('production', v1, { by: 'ana', at: 't1' })).toMatchObject({ from: null, to: v1 });
    expect(await registry.setAlias('production', v2, { by: 'bo', at: 't2', reason: 'better auc' })).toMatchObject({ from: v1, to: v2 });
    await registry.setAlias('staging', v2, { by: 'bo', at: 't3' });
    expect((await registry.alias('production'))?.version).toBe(v2);
    expect(await registry.aliasHistory('production')).toEqual([
      { alias: 'production', from: null, to: v1, at: 't1', by: 'ana' },
      { alias: 'production', from: v1, to: v2, at: 't2', by: 'bo', reason: 'better auc' },
    ]);
    expect(await registry.aliasHistory()).toHaveLength(3);
    expect((await registry.aliases()).map((a) => [a.alias, a.version])).toEqual([
      ['production', v2],
      ['staging', v2],
    ]);
  });

  it('loses nothing when many writers update at once', async () => {
    const root = temporaryDirectory();
    const writers = Array.from({ length: 4 }, () => new Registry(new FileRegistryBackend(root)));
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        writers[i % 4]!.setAlias(`a${i % 3}`, `sha256:${String(i).padStart(64, '0')}`, { by: `w${i}`, at: String(i) }),
      ),
    );
    const history = await writers[0]!.aliasHistory();
    expect(history).toHaveLength(24);
    expect(new Set(history.map((m) => m.by)).size).toBe(24);
    // Each alias's moves chain: every move starts where the previous one ended.
    for (const alias of ['a0', 'a1', 'a2']) {
      const moves = history.filter((m) => m.alias === alias);
      moves.forEach((m, i) => expect(m.from).toBe(i === 0 ? null : moves[i - 1]!.to));
    }
  });

  it('makes run ids that sort by time', () => {
    const a = newRunId(new Date('2026-11-23T10:15:00.123Z'), 'abcdef12');
    const b = newRunId(new Date('2026-11-23T10:15:01.000Z'), '000000');
    expect(a).toBe('20261123T101500Z-abcdef');
    expect([b, a].sort()).toEqual([a, b]);
  });
});

describe('mlship registry commands', () => {
  it('shows lineage, sets and gets aliases with history, and refuses unknown versions', async () => {
    const project = await makeTrainingProject();
    const trained = await project.run('train');
    const modelVersion = trained.result!.outputs['model-version'] as string;
    const runId = trained.result!.outputs['run-id'] as string;

    const byModel = await project.run('registry', 'show', modelVersion);
    expect(byModel.error).toBeUndefined();
    const record = byModel.result!.outputs.record as { run: RunRecord; model: { runId: string } };
    expect(record.run.id).toBe(runId);
    expect(record.model.runId).toBe(runId);
    expect(byModel.reporter.text()).toContain(`data     ${record.run.dataVersion}`);
    expect(byModel.reporter.text()).toContain(`code     ${record.run.git.sha}`);

    const set = await project.run('registry', 'alias', 'set', 'production', modelVersion, '--reason', 'first model');
    expect(set.result!.outputs).toEqual({ 'model-version': modelVersion, 'previous-model-version': '' });
    const get = await project.run('registry', 'alias', 'get', 'production');
    expect(get.result!.outputs).toEqual({ 'model-version': modelVersion });
    const byAlias = await project.run('registry', 'show', 'production');
    expect((byAlias.result!.outputs.record as { run: RunRecord }).run.id).toBe(runId);

    const unknown = await project.run('registry', 'alias', 'set', 'production', `sha256:${'0'.repeat(64)}`);
    expect(unknown.exitCode).toBe(ExitCode.Usage);
    expect(unknown.error?.message).toContain('is not a model version in the registry');
    const missing = await project.run('registry', 'alias', 'get', 'staging');
    expect(missing.exitCode).toBe(ExitCode.Usage);
    expect(missing.error?.message).toContain('has no alias "staging"');
    const badArgs = await project.run('registry', 'alias', 'set', 'production');
    expect(badArgs.exitCode).toBe(ExitCode.Usage);
    expect(badArgs.error?.message).toContain('missing <model-version>; usage: mlship registry alias set <alias> <model-version>');

    const list = await project.run('registry', 'list');
    expect(list.result!.outputs.runs).toEqual([expect.objectContaining({ id: runId, status: 'succeeded', modelVersion })]);
  });

  it('the lineage views agree: show accepts every form list prints, and lists every run that produced the bytes, newest first', async () => {
    // A deterministic model: a forced retrain produces the very same bytes, as a second run.
    const deterministic = `import json, os\nos.makedirs("model", exist_ok=True)\nopen("model/m", "w").write("same")\njson.dump({"auc": 0.9}, open("metrics.json", "w"))\nopen("predictions.csv", "w").write("label,score\\n1,0.9\\n0,0.2\\n")\n`;
    const project = await makeTrainingProject({ files: { 'train.py': deterministic } });
    const first = await project.run('train');
    const second = await project.run('train', '--force');
    const version = first.result!.outputs['model-version'] as string;
    expect(second.result!.outputs['model-version']).toBe(version);
    const older = first.result!.outputs['run-id'] as string;
    const newer = second.result!.outputs['run-id'] as string;
    await project.run('registry', 'alias', 'set', 'production', version);

    const list = await project.run('registry', 'list');
    const printed = list.reporter.lines.map((l) => l.message.split(/\s+/)[2]!).filter((form) => form.startsWith('sha256:'));
    expect(printed).toEqual([version.slice(0, 19), version.slice(0, 19)]);
    for (const form of [...printed, version.slice(7, 19), version, 'production']) {
      const shown = await project.run('registry', 'show', form);
      expect(shown.error, form).toBeUndefined();
      const record = shown.result!.outputs.record as { run: RunRecord; runs: string[]; aliases: { alias: string; runId: string }[] };
      expect(record.runs).toEqual([newer, older]);
      expect(record.run.id).toBe(newer);
      expect(record.aliases).toEqual([expect.objectContaining({ alias: 'production', runId: newer })]);
      expect(shown.reporter.text()).toContain(`${newer}  `);
      expect(shown.reporter.text()).toMatch(new RegExp(`${newer} .*← alias production`));
    }
    const byOlderRun = await project.run('registry', 'show', older);
    expect((byOlderRun.result!.outputs.record as { run: RunRecord }).run.id).toBe(older);
    const unknown = await project.run('registry', 'show', 'sha256:0000000000ff');
    expect(unknown.exitCode).toBe(ExitCode.Usage);
    expect(unknown.error?.message).toContain('no model version starts with sha256:0000000000ff');
  });
});
