import { ConfigurationError } from '../../errors.js';
import { ALIAS_NAME, MODEL_VERSION } from '../../domain/registry/records.js';
import type { CommandDefinition } from '../command.js';
import { actor, openProjectRegistry } from '../../services/registry.js';
import { MODEL_VERSION_OUTPUT } from '../outputs.js';

function checkAliasName(name: string): void {
  if (!ALIAS_NAME.test(name)) {
    throw new ConfigurationError(`alias ${JSON.stringify(name)}: expected lowercase letters, digits, dots, dashes or underscores, starting with a letter`);
  }
}

export const registryAliasSet: CommandDefinition = {
  words: ['registry', 'alias', 'set'],
  description: 'Point an alias (staging, production, any name) at a registered model version; the move is recorded.',
  options: {
    reason: { type: 'string', value: 'TEXT', description: 'Why, for the alias history.' },
  },
  arguments: [
    { name: 'alias', description: 'The alias, such as production.' },
    { name: 'model-version', description: 'A registered model version (sha256:…).' },
  ],
  outputs: {
    ...MODEL_VERSION_OUTPUT,
    'previous-model-version': 'The model version the alias pointed at before (empty when it is new).',
  },
  async run(options, context) {
    const name = options.alias as string;
    const version = options['model-version'] as string;
    checkAliasName(name);
    if (!MODEL_VERSION.test(version)) throw new ConfigurationError(`model version ${JSON.stringify(version)}: expected sha256:<64 hex digits>`);
    const { registry } = await openProjectRegistry(context);
    if (!(await registry.model(version))) throw new ConfigurationError(`${version} is not a model version in the registry ${registry.location}; train it first`);
    const [newestRun] = await registry.modelRuns(version);
    const move = await registry.setAlias(name, version, {
      ...(newestRun ? { runId: newestRun } : {}),
      by: actor(context.env),
      at: new Date().toISOString(),
      ...(typeof options.reason === 'string' ? { reason: options.reason } : {}),
    });
    context.reporter.info(`${name}: ${move.from ?? '(new)'} → ${move.to}`);
    return {
      outputs: { 'model-version': move.to, 'previous-model-version': move.from ?? '' },
      summary: `### mlship registry alias set\n\n\`${name}\`: \`${move.from ?? '(new)'}\` → \`${move.to}\` by ${move.by}${move.reason ? ` (${move.reason})` : ''}\n`,
    };
  },
};

export const registryAliasGet: CommandDefinition = {
  words: ['registry', 'alias', 'get'],
  description: 'Print the model version an alias points at.',
  options: {},
  arguments: [{ name: 'alias', description: 'The alias, such as production.' }],
  outputs: { ...MODEL_VERSION_OUTPUT },
  primaryOutput: 'model-version',
  async run(options, context) {
    const name = options.alias as string;
    checkAliasName(name);
    const { registry } = await openProjectRegistry(context);
    const alias = await registry.alias(name);
    if (!alias) throw new ConfigurationError(`the registry ${registry.location} has no alias "${name}"; set one with \`mlship registry alias set ${name} <model-version>\``);
    context.reporter.info(`${name} → ${alias.version} (set ${alias.setAt} by ${alias.setBy}${alias.reason ? `: ${alias.reason}` : ''})`);
    return { outputs: { 'model-version': alias.version }, summary: `### mlship registry alias get\n\n\`${name}\` → \`${alias.version}\`\n` };
  },
};
