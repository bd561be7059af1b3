import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig, type ConfigPath, type LoadedConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { ConfigurationError, errnoCode } from '../../errors.js';
import { normaliseDeclaredPaths } from '../../adapters/fs/scan.js';
import { LOCK_FILE_NAME } from '../../domain/data/lockfile.js';
import { checkGates, GateConfigError } from '../../domain/gate/gates.js';
import { parseSmokeCases, SmokeCasesError } from '../../domain/smoke/cases.js';
import type { CommandContext, CommandDefinition, CommandResult } from '../command.js';
import { readLock } from '../../services/data-project.js';
import { outputPaths, readMetricsFile } from '../../services/outputs.js';
import { resolvedConfig } from '../../services/resolved-config.js';
import { directionOf, isComputedMetric } from '../../services/scoring.js';

export const validate: CommandDefinition = {
  words: ['validate'],
  description: 'Check mlship.yml without changing anything: the schema, the files it names, the environments and the gates; print it with every default filled in.',
  options: {},
  outputs: {
    valid: 'true when mlship.yml passed every check (otherwise the command fails with every error found).',
    config: 'JSON of mlship.yml with every default filled in, as the commands read it.',
  },
  primaryOutput: 'config',
  primaryText: (outputs) => stringify(outputs.config, { lineWidth: 0 }),
  run: (_options, context) => runValidate(context),
};

/** One problem, and where it is. */
type Problem = string;

async function runValidate(context: CommandContext): Promise<CommandResult> {
  const loaded = loadConfig(context.configFile, context.configDisplay);
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const check = (run: () => void): void => {
    try {
      run();
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      problems.push(error.message);
    }
  };
  check(() => checkData(loaded, problems));
  check(() => checkTrain(loaded, problems));
  checkGateRules(loaded, problems, warnings);
  check(() => checkSmokeCases(loaded, problems));
  await checkImage(loaded, problems);
  checkEnvironments(loaded, problems);
  for (const warning of warnings) context.reporter.warning(warning);

  if (problems.length > 0) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    throw new ConfigurationError(`${context.configDisplay}: ${count}:\n  ${problems.join('\n  ')}`);
  }
  const config = resolvedConfig(loaded, context.env);
  const yaml = stringify(config, { lineWidth: 0 });
  context.reporter.info(`${context.configDisplay} is valid`);
  return {
    outputs: { valid: true, config: config as unknown as Record<string, unknown> },
    summary: `### mlship.yml is valid\n\nWith every default filled in:\n\n\`\`\`yaml\n${yaml}\`\`\`\n`,
  };
}

/** `mlship.yml:7:5 data.paths[0]: message`. */
const at = (loaded: LoadedConfig, configPath: ConfigPath, message: string): Problem => `${loaded.where(configPath)}: ${message}`;

function kindOf(file: string): 'file' | 'directory' | 'missing' | 'other' {
  try {
    const info = statSync(file);
    return info.isFile() ? 'file' : info.isDirectory() ? 'directory' : 'other';
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return 'missing';
    throw error;
  }
}

/** Declared data exists, or mlship.lock pins it (a fresh checkout restores it with `mlship data pull`). */
function checkData(loaded: LoadedConfig, problems: Problem[]): void {
  const data = loaded.config.data;
  if (!data) return;
  normaliseDeclaredPaths(data.paths.map((p, i) => ({ path: p, where: loaded.where(['data', 'paths', i]) })));
  const locked = new Set((readLock(path.join(loaded.root, LOCK_FILE_NAME)).data?.paths ?? []).map((p) => p.path));
  data.paths.forEach((declared, i) => {
    const clean = path.posix.normalize(declared).replace(/\/+$/, '');
    if (kindOf(path.join(loaded.root, clean)) === 'missing' && !locked.has(clean)) {
      problems.push(at(loaded, ['data', 'paths', i], `"${declared}" does not exist and ${LOCK_FILE_NAME} does not pin it (add the data, or fix the path)`));
    }
  });
}

const INTERPRETERS = new Set(['python', 'python3', 'bash', 'sh', 'Rscript', 'node']);
const SCRIPT = /\.(py|sh|r|R|js|mjs|ipynb)$/;

function checkTrain(loaded: LoadedConfig, problems: Problem[]): void {
  const train = loaded.config.train;
  if (!train) return;
  const mustExist = (configPath: ConfigPath, relative: string, what: string): void => {
    if (kindOf(path.join(loaded.root, relative)) !== 'file') problems.push(at(loaded, configPath, `${what} "${relative}" does not exist`));
  };
  const script = scriptOf(train.command);
  if (script !== undefined) mustExist(['train', 'command'], script, 'the script');
  if (train.params !== undefined) mustExist(['train', 'params'], train.params, 'the params file');
  if (train.container) mustExist(['train', 'container', ...(train.container.dockerfile ? ['dockerfile'] : [])], train.container.dockerfile ?? 'Dockerfile', 'the Dockerfile');
  outputPaths(train.outputs, loaded.config.data?.paths ?? [], loaded.where);
}

/**
 * The script a training command runs, where that is plain to see (`python3 train.py`,
 * `./train.sh`); undefined for anything else (a module, a pipeline, a make target).
 */
export function scriptOf(command: string): string | undefined {
  if (/[|;&<>`$()'"\\]/.test(command)) return undefined;
  const [first, ...rest] = command.trim().split(/\s+/);
  if (first === undefined) return undefined;
  if (first.startsWith('./')) return safeScript(first.slice(2));
  if (!INTERPRETERS.has(first) || rest.includes('-m') || rest.includes('-c')) return undefined;
  const script = rest.find((word) => !word.startsWith('-'));
  return script !== undefined && SCRIPT.test(script) ? safeScript(script) : undefined;
}

function safeScript(script: string): string | undefined {
  const clean = path.posix.normalize(script);
  return path.posix.isAbsolute(clean) || clean.startsWith('../') ? undefined : clean;
}

/**
 * Each gate has a rule, and names a metric mlship computes or one the training command writes.
 * The training metrics are known only once metrics.json exists: before that, a name mlship does
 * not compute is a warning, not an error.
 */
function checkGateRules(loaded: LoadedConfig, problems: Problem[], warnings: string[]): void {
  const gates = loaded.config.evaluate?.gates ?? [];
  const metricsFile = loaded.config.train?.outputs.metrics;
  let trainingMetrics: Record<string, number> | undefined;
  if (metricsFile !== undefined && existsSync(path.join(loaded.root, metricsFile))) {
    try {
      trainingMetrics = readMetricsFile(loaded.root, { role: 'metrics', path: metricsFile, where: loaded.where(['train', 'outputs', 'metrics']) });
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      warnings.push(`${error.message}: the gates' metric names are checked against mlship's own metrics only`);
    }
  }
  gates.forEach((gate, i) => {
    try {
      checkGates([gate], directionOf);
    } catch (error) {
      if (!(error instanceof GateConfigError)) throw error;
      problems.push(`${loaded.where(['evaluate', 'gates', i])}${error.message.replace(/^evaluate\.gates\[0\]/, '')}`);
    }
    if (isComputedMetric(gate.metric) || trainingMetrics?.[gate.metric] !== undefined) return;
    const known = 'auc, average_precision, log_loss, brier, accuracy, precision, recall, f1, positives, negatives, count';
    if (trainingMetrics !== undefined) {
      problems.push(at(loaded, ['evaluate', 'gates', i, 'metric'], `unknown metric "${gate.metric}": expected one of ${known}, or a metric ${metricsFile} has (${Object.keys(trainingMetrics).join(', ') || 'none'})`));
    } else {
      warnings.push(`${loaded.where(['evaluate', 'gates', i, 'metric'])}: "${gate.metric}" is not a metric mlship computes (${known}); it must be one the training command writes to ${metricsFile ?? 'train.outputs.metrics'}`);
    }
  });
}

/** Smoke cases parse, unless training writes them (they appear with the run). */
function checkSmokeCases(loaded: LoadedConfig, problems: Problem[]): void {
  const smoke = loaded.config.smoke;
  if (!smoke) return;
  const written = loaded.config.train?.outputs.smoke;
  const file = path.join(loaded.root, smoke.cases);
  if (written !== undefined && path.posix.normalize(written) === path.posix.normalize(smoke.cases) && !existsSync(file)) return;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = errnoCode(error) === 'ENOENT' ? 'does not exist (or declare it as train.outputs.smoke when training writes it)' : `cannot be read (${errnoCode(error) ?? String(error)})`;
    problems.push(at(loaded, ['smoke', 'cases'], `"${smoke.cases}" ${reason}`));
    return;
  }
  try {
    parseSmokeCases(text, smoke.cases);
  } catch (error) {
    if (!(error instanceof SmokeCasesError)) throw error;
    problems.push(at(loaded, ['smoke', 'cases'], error.message));
  }
}

async function checkImage(loaded: LoadedConfig, problems: Problem[]): Promise<void> {
  const image = loaded.config.image;
  if (!image) return;
  const contextDir = path.resolve(loaded.root, image.context ?? '.');
  if (kindOf(contextDir) !== 'directory') {
    problems.push(at(loaded, ['image', 'context'], `the build context "${image.context}" is not a directory`));
    return;
  }
  const { checkDockerfile } = await import('../../adapters/docker/build-context.js');
  try {
    checkDockerfile(contextDir, image.dockerfile ?? 'Dockerfile', loaded.where(['image', ...(image.dockerfile ? ['dockerfile'] : [])]));
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(error.message);
  }
}

/** Two environments on one engine cannot share a service or a published port. */
function checkEnvironments(loaded: LoadedConfig, problems: Problem[]): void {
  const environments: NonNullable<Config['environments']> = loaded.config.environments ?? {};
  const seen = new Map<string, string>();
  for (const [name, environment] of Object.entries(environments)) {
    const engine = environment.docker_host ?? 'the default engine';
    for (const [key, value] of [['service', environment.service], ['port', String(environment.port)]] as const) {
      const id = `${engine}\u0000${key}\u0000${value}`;
      const other = seen.get(id);
      if (other !== undefined) problems.push(at(loaded, ['environments', name, key], `${key} ${value} is also environments.${other}'s on ${engine}; each environment needs its own`));
      else seen.set(id, name);
    }
  }
}
