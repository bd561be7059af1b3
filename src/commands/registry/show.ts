import { shortVersion, type AliasRecord, type ImageRecord, type RunRecord } from '../../domain/registry/records.js';
import type { CommandDefinition } from '../command.js';
import { openProjectRegistry, resolveReference } from '../../services/registry.js';

export const registryShow: CommandDefinition = {
  words: ['registry', 'show'],
  description: 'Show a run or model version with its lineage: every run that produced the model, its data, code, params and metrics, and the images and aliases that point at it.',
  options: {},
  arguments: [{ name: 'reference', description: 'A run id, a model version (sha256:…, or its first 12 digits as registry list prints it) or an alias such as production.' }],
  outputs: {
    record: 'JSON: the run and model version records the reference names, the ids of every run that produced the model (newest first), its images and the aliases pointing at it.',
  },
  async run(options, context) {
    const { registry } = await openProjectRegistry(context);
    const { run, model, via } = await resolveReference(registry, options.reference as string);
    const { reporter } = context;
    const version = model?.version ?? run?.modelVersion;
    const runIds = version ? await registry.modelRuns(version) : run ? [run.id] : [];
    const aliases = version ? await registry.aliasesOf(version) : [];
    const images = model?.images ?? [];
    const runs = (await Promise.all(runIds.map((id) => (id === run?.id ? run : registry.run(id))))).filter((r): r is RunRecord => r !== undefined);

    reporter.info(`${via}${version && !via.includes(version) ? ` → model version ${version}` : ''}`);
    if (run) {
      reporter.info(`run ${run.id} (${run.status}${run.failure ? `: ${run.failure}` : ''}), ${run.startedAt}, ${run.durationSeconds.toFixed(1)} s, by ${run.user} on ${run.host}`);
      reporter.info(`  model    ${run.modelVersion ?? '(none)'}`);
      reporter.info(`  data     ${run.dataVersion}`);
      reporter.info(`  code     ${run.git.sha} (${run.git.ref}${run.git.dirty ? ', with uncommitted changes' : ''})${run.git.source ? ` ${run.git.source}` : ''}`);
      reporter.info(`  command  ${run.command}`);
      reporter.info(`  params   ${JSON.stringify(run.params)}`);
      reporter.info(`  metrics  ${Object.entries(run.metrics).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    if (version && runs.length > 0) {
      reporter.info(`runs that produced ${shortVersion(version)}, newest first:`);
      for (const r of runs) reporter.info(`  ${r.id}  ${r.git.sha.slice(0, 8)}  ${r.startedAt}${pointers(r.id, images, aliases)}`);
    }
    const record = { run: run ?? null, model: model ?? null, runs: runs.map((r) => r.id), images, aliases };
    const rows = runs.map((r) => `| \`${r.id}\` | \`${r.git.sha.slice(0, 8)}\` | ${r.startedAt} | ${pointers(r.id, images, aliases).replace(/^ {2}← /, '')} |`);
    return {
      outputs: { record },
      summary: [
        `### mlship registry show \`${options.reference as string}\``,
        '',
        ...(version ? [`Model version \`${version}\`, produced by ${runs.length === 1 ? '1 run' : `${runs.length} runs`}:`, '', '| Run | Commit | Started | Points here |', '| --- | --- | --- | --- |', ...rows, ''] : []),
        '```json',
        JSON.stringify({ run, model }, null, 2),
        '```',
        '',
      ].join('\n'),
    };
  },
};

/** `  ← alias production, image repo@sha256:…` for the run an alias or image was made from. */
function pointers(runId: string, images: readonly ImageRecord[], aliases: readonly AliasRecord[]): string {
  const marks = [
    ...aliases.filter((a) => a.runId === runId).map((a) => `alias ${a.alias}`),
    ...images.filter((i) => i.runId === runId).map((i) => `image ${i.repository}${i.digest ? `@${i.digest}` : `:${i.tags[0] ?? ''}`}`),
  ];
  return marks.length > 0 ? `  ← ${marks.join(', ')}` : '';
}
