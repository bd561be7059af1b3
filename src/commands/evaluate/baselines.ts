import path from 'node:path';
import { readFileSync } from 'node:fs';
import { ConfigurationError, InfrastructureError, errnoCode, isSystemError } from '../../errors.js';
import type { Registry } from '../../domain/registry/registry.js';
import { DEFAULT_BASELINE, type GateSpec } from '../../domain/gate/gates.js';
import type { BlobStore } from '../../adapters/store/blob-store.js';
import type { Reporter } from '../../adapters/runtime/reporter.js';
import { downloadText } from '../../services/objects.js';
import { parsePredictionsText, scorePredictions, type Scored, type ScoringSettings } from '../../services/scoring.js';

/** A baseline to compare with: its metrics (and scored predictions when it has them), or why it cannot be read. */
export type Baseline =
  | { readonly kind: 'found'; readonly label: string; readonly metrics: Readonly<Record<string, number>>; readonly scored?: Scored | undefined }
  | { readonly kind: 'unreadable'; readonly label: string; readonly problem: string };

/**
 * The baseline of each baseline gate, by the name it uses: the alias it names (production by
 * default), or what the command line says (--baseline ALIAS for all, --baseline-file FILE).
 * Undefined for an alias never set; a --baseline alias that does not exist is a usage error.
 */
export async function resolveBaselines(
  gates: readonly GateSpec[],
  options: Readonly<Record<string, string | boolean | undefined>>,
  where: { root: string; registry: Registry; store: BlobStore | undefined; settings: ScoringSettings; reporter: Reporter },
): Promise<Record<string, Baseline | undefined>> {
  const { registry, settings, reporter } = where;
  const baselines: Record<string, Baseline | undefined> = {};
  const names = [...new Set(gates.filter((g) => g.min === undefined && g.max === undefined).map((g) => g.baseline ?? DEFAULT_BASELINE))];
  const requested = typeof options.baseline === 'string' ? options.baseline : undefined;
  if (typeof options['baseline-file'] === 'string') {
    const found = baselineFromFile(where.root, options['baseline-file'], settings);
    for (const name of [...names, requested ?? DEFAULT_BASELINE]) baselines[name] = found;
    return baselines;
  }
  for (const name of requested ? [requested] : names) {
    const found = await baselineFromAlias(name, registry, where.store, settings, reporter.warning.bind(reporter));
    if (!found && requested) throw new ConfigurationError(`--baseline ${requested}: the registry ${registry.location} has no alias "${requested}"`);
    if (found?.kind === 'unreadable') reporter.warning(`the baseline ${found.label} cannot be read: ${found.problem}`);
    baselines[name] = found;
    if (requested) for (const other of names) baselines[other] = found;
  }
  return baselines;
}

/** The baseline in a predictions file (--baseline-file): a file the user named, so its errors are theirs (exit 2). */
export function baselineFromFile(root: string, file: string, settings: ScoringSettings): Baseline {
  let text: string;
  try {
    text = readFileSync(path.resolve(root, file), 'utf8');
  } catch (error) {
    throw new ConfigurationError(`--baseline-file ${file}: ${errnoCode(error) === 'ENOENT' ? 'no such file' : String(error)}`);
  }
  const scored = scorePredictions(parsePredictionsText(text, file, settings.columns), settings);
  return { kind: 'found', label: `file ${file}`, metrics: scored.metrics, scored };
}

/**
 * The model behind a registry alias, or undefined when the alias was never set (no baseline
 * yet). An alias that is set but whose model record, run or predictions cannot be read is an
 * unreadable baseline: its gates fail with the reason, rather than passing as if there were none.
 * A run that recorded no predictions is compared on its training metrics.
 */
export async function baselineFromAlias(
  name: string,
  registry: Registry,
  store: BlobStore | undefined,
  settings: ScoringSettings,
  warn: (message: string) => void,
): Promise<Baseline | undefined> {
  const alias = await registry.alias(name);
  if (!alias) return undefined;
  const label = `${name} (${alias.version.replace(/^sha256:/, '').slice(0, 12)})`;
  const unreadable = (problem: string): Baseline => ({ kind: 'unreadable', label, problem });
  try {
    const model = await registry.model(alias.version);
    if (!model) return unreadable(`the registry ${registry.location} has no record of model version ${alias.version}`);
    const run = await registry.run(model.runId);
    if (!run) return unreadable(`the registry ${registry.location} has no record of run ${model.runId}, which trained it`);
    const output = run.outputs.predictions;
    if (!output) {
      warn(`${label} recorded no predictions: comparing with its training metrics only`);
      return { kind: 'found', label, metrics: run.metrics };
    }
    if (!store) return unreadable(`its predictions ${output.path} are kept in the data store, and mlship.yml has no data section to say where that is`);
    const text = await downloadText(store, output.hash.replace(/^sha256:/, ''), `${output.path} of ${label}`);
    const scored = scorePredictions(parsePredictionsText(text, output.path, settings.columns), settings);
    return { kind: 'found', label, metrics: { ...run.metrics, ...scored.metrics }, scored };
  } catch (error) {
    if (!isReadFailure(error)) throw error;
    return unreadable(error instanceof Error ? error.message : String(error));
  }
}

/** What reading a record or an object may fail with: the store or registry, or their content. Not a bug, not an interrupt. */
function isReadFailure(error: unknown): boolean {
  return error instanceof InfrastructureError || error instanceof ConfigurationError || error instanceof SyntaxError || isSystemError(error);
}
