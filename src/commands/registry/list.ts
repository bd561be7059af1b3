import { ConfigurationError } from '../../errors.js';
import type { CommandDefinition } from '../command.js';
import { openProjectRegistry } from '../../services/registry.js';

export const registryList: CommandDefinition = {
  words: ['registry', 'list'],
  description: 'List recorded runs, newest first.',
  options: {
    limit: { type: 'string', value: 'N', description: 'How many runs to list (default 20).' },
  },
  outputs: {
    runs: 'JSON list of runs, newest first: id, status, model version, data version, git sha, metrics.',
  },
  async run(options, context) {
    const limit = options.limit === undefined ? 20 : Number(options.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new ConfigurationError(`--limit: expected a positive whole number, got ${JSON.stringify(options.limit)}`);
    const { registry } = await openProjectRegistry(context);
    const ids = (await registry.runIds()).slice(0, limit);
    const runs = [];
    for (const id of ids) {
      const run = await registry.run(id);
      if (!run) continue;
      runs.push({ id: run.id, status: run.status, modelVersion: run.modelVersion ?? null, dataVersion: run.dataVersion, gitSha: run.git.sha, metrics: run.metrics });
      context.reporter.info(
        `${run.id}  ${run.status.padEnd(9)}  ${(run.modelVersion ?? '-').slice(0, 19).padEnd(19)}  ${run.git.sha.slice(0, 8)}  ` +
          Object.entries(run.metrics).slice(0, 4).map(([k, v]) => `${k}=${v}`).join(' '),
      );
    }
    if (runs.length === 0) context.reporter.info(`no runs in ${registry.location}`);
    const rows = runs.map((r) => `| \`${r.id}\` | ${r.status} | \`${(r.modelVersion ?? '-').slice(0, 19)}\` | \`${r.gitSha.slice(0, 8)}\` |`);
    return {
      outputs: { runs },
      summary: `### mlship registry list\n\n| Run | Status | Model | Commit |\n| --- | --- | --- | --- |\n${rows.join('\n')}\n`,
    };
  },
};
