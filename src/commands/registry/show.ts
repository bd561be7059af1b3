import type { CommandDefinition } from '../command.js';
import { openProjectRegistry, resolveReference } from '../../services/registry.js';

export const registryShow: CommandDefinition = {
  words: ['registry', 'show'],
  description: 'Show a run or model version with its lineage: data version, git commit, params, metrics.',
  options: {},
  arguments: [{ name: 'reference', description: 'A run id, a model version (sha256:…) or an alias such as production.' }],
  outputs: {
    record: 'JSON of the run record (and its model version record) that the reference names.',
  },
  async run(options, context) {
    const { registry } = await openProjectRegistry(context);
    const { run, model } = await resolveReference(registry, options.reference as string);
    const { reporter } = context;
    if (run) {
      reporter.info(`run ${run.id} (${run.status}${run.failure ? `: ${run.failure}` : ''}), ${run.startedAt}, ${run.durationSeconds.toFixed(1)} s, by ${run.user} on ${run.host}`);
      reporter.info(`  model    ${run.modelVersion ?? '(none)'}`);
      reporter.info(`  data     ${run.dataVersion}`);
      reporter.info(`  code     ${run.git.sha} (${run.git.ref}${run.git.dirty ? ', with uncommitted changes' : ''})`);
      reporter.info(`  command  ${run.command}`);
      reporter.info(`  params   ${JSON.stringify(run.params)}`);
      reporter.info(`  metrics  ${Object.entries(run.metrics).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    return {
      outputs: { record: { run: run ?? null, model: model ?? null } },
      summary: `### mlship registry show\n\n\`\`\`json\n${JSON.stringify({ run, model }, null, 2)}\n\`\`\`\n`,
    };
  },
};
