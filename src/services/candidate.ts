import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { RegistryAuth } from '../adapters/docker/engine.js';
import type { SwarmEngine } from '../adapters/docker/swarm.js';
import { LABELS, modelServiceSpec, type ServiceSpec } from '../domain/deploy/service-spec.js';
import type { EnvironmentSettings } from './environment.js';
import type { CommandContext } from '../commands/command.js';
import { ConfigurationError, errnoCode } from '../errors.js';
import { shortVersion, type ModelVersionRecord } from '../domain/registry/records.js';
import type { Registry } from '../domain/registry/registry.js';
import { parseSmokeCases, SmokeCasesError, type SmokeCase } from '../domain/smoke/cases.js';
import { resolveRunIdentity } from './run-identity.js';
import { openProjectRegistry } from './registry.js';

/** An image to deploy, always by digest, with the lineage the service will carry. */
export interface Candidate {
  /** `repository@sha256:…`. */
  readonly image: string;
  readonly repository: string;
  readonly digest: string;
  readonly modelVersion: string;
  readonly dataVersion?: string | undefined;
  readonly runId?: string | undefined;
  readonly gitSha?: string | undefined;
}

/** What a ledger record says of the image it put on an environment (deploy, promote, rollback). */
export function candidateLineage(candidate: Candidate): Pick<Candidate, 'image' | 'digest' | 'modelVersion' | 'dataVersion' | 'runId' | 'gitSha'> {
  const { image, digest, modelVersion, dataVersion, runId, gitSha } = candidate;
  return { image, digest, modelVersion, dataVersion, runId, gitSha };
}

export const IMAGE_BY_DIGEST = /^([a-z0-9][a-z0-9._:/-]*[a-z0-9])@(sha256:[0-9a-f]{64})$/;

/**
 * The candidate of this commit: the image `mlship build --push` recorded on the model version of
 * this commit's training run (the newest one pushed to image.repository). Reads neither the data
 * nor the image: the run is found by its key, the data version from mlship.lock.
 */
export async function candidateOfThisCommit(context: CommandContext, command: string): Promise<{ candidate: Candidate; registry: Registry; loaded: LoadedConfig }> {
  const identity = await resolveRunIdentity(context, { allowDirtyData: false, command, data: 'lock' });
  const { registry, loaded } = identity;
  const repository = loaded.config.image?.repository;
  const run = await registry.runForKey(identity.key);
  if (!run?.modelVersion) {
    throw new ConfigurationError(`no successful \`mlship train\` run for this commit in ${registry.location}: run mlship train and mlship build --push first, or pass --image repository@sha256:…`);
  }
  const model = await registry.model(run.modelVersion);
  const pushed = pushedImages(model, repository);
  const newest = pushed[pushed.length - 1];
  if (!newest) {
    throw new ConfigurationError(
      `no image was built and pushed for this commit's model ${shortVersion(run.modelVersion)}${repository ? ` in ${repository}` : ''}: run \`mlship build --push\` first, or pass --image repository@sha256:…`,
    );
  }
  return {
    candidate: {
      image: `${newest.repository}@${newest.digest}`,
      repository: newest.repository,
      digest: newest.digest,
      modelVersion: run.modelVersion,
      dataVersion: run.dataVersion,
      runId: newest.runId ?? run.id,
      gitSha: newest.gitSha,
    },
    registry,
    loaded,
  };
}

/**
 * A candidate named on the command line (`repository@sha256:…`): its lineage comes from the
 * registry's record of that image, or, for an image mlship never built, from nothing but the
 * model version the caller finds in the image's labels.
 */
export async function candidateFromImage(reference: string, context: CommandContext): Promise<{ candidate: Partial<Candidate> & Pick<Candidate, 'image' | 'repository' | 'digest'>; registry: Registry; loaded: LoadedConfig }> {
  const match = IMAGE_BY_DIGEST.exec(reference);
  if (!match) throw new ConfigurationError(`--image ${JSON.stringify(reference)}: expected an image by digest, repository@sha256:<64 hex digits>`);
  const [, repository, digest] = match as unknown as [string, string, string];
  const { registry, loaded } = await openProjectRegistry(context);
  for (const version of await registry.modelVersions()) {
    const model = await registry.model(version);
    const image = (model?.images ?? []).find((i) => i.digest === digest && i.repository === repository);
    if (model && image) {
      return { candidate: { image: reference, repository, digest, modelVersion: model.version, dataVersion: model.dataVersion, runId: image.runId ?? model.runId, gitSha: image.gitSha }, registry, loaded };
    }
  }
  return { candidate: { image: reference, repository, digest }, registry, loaded };
}

function pushedImages(model: ModelVersionRecord | undefined, repository: string | undefined): NonNullable<ModelVersionRecord['images']> {
  return (model?.images ?? []).filter((i) => i.digest !== '' && (repository === undefined || i.repository === repository));
}

/** The smoke cases of mlship.yml, parsed; errors name the file and line. Undefined when there is no smoke section. */
export function readSmokeCases(loaded: LoadedConfig, file?: string): { cases: SmokeCase[]; file: string; text: string } | undefined {
  const relative = file ?? loaded.config.smoke?.cases;
  if (relative === undefined) return undefined;
  const absolute = path.resolve(loaded.root, relative);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const why = errnoCode(error) === 'ENOENT' ? 'does not exist (is it a training output? run mlship train)' : `cannot be read (${errnoCode(error) ?? String(error)})`;
    throw new ConfigurationError(`${file ? '--cases' : loaded.where(['smoke', 'cases'])}: the smoke cases file ${relative} ${why}`);
  }
  try {
    return { cases: parseSmokeCases(text, relative), file: relative, text };
  } catch (error) {
    if (error instanceof SmokeCasesError) throw new ConfigurationError(`smoke cases ${error.message}`);
    throw error;
  }
}

/**
 * The lineage of an image: from the registry's record when mlship built it, else from the image's
 * own labels (pulled onto the engine, which nodes do anyway). An image without a model version is
 * refused: a deployment must say what model it serves.
 */
export async function withLineage(
  candidate: Partial<Candidate> & Pick<Candidate, 'image' | 'repository' | 'digest'>,
  engine: SwarmEngine,
  auth: RegistryAuth | undefined,
  context: CommandContext,
): Promise<Candidate> {
  if (candidate.modelVersion) return candidate as Candidate;
  const { engineDeadlines } = await import('../adapters/docker/engine.js');
  const labels = await engine.imageLabels(candidate.image, auth, { stallMs: engineDeadlines(context.env).transferStallMs, signal: context.signal });
  const modelVersion = labels['mlship.model-version'];
  if (!modelVersion) throw new ConfigurationError(`${candidate.image} carries no mlship.model-version label: deploy images built by mlship build`);
  return { ...candidate, modelVersion, dataVersion: labels['mlship.data-version'], runId: labels['mlship.run-id'], gitSha: labels['org.opencontainers.image.revision'] };
}

/**
 * The service spec that runs a candidate in an environment: the image by digest, the MLSHIP_*
 * variables the serving contract promises, and the lineage labels. Deploy and promote both use it,
 * so a service looks the same whichever command put it there.
 */
export function candidateServiceSpec(settings: EnvironmentSettings, candidate: Candidate, network: string): ServiceSpec {
  return modelServiceSpec({
    project: settings.project,
    environment: settings.name,
    service: settings.service,
    image: candidate.image,
    replicas: settings.replicas,
    containerPort: settings.containerPort,
    network,
    rollout: settings.rollout,
    stopGraceMs: settings.stopGraceMs,
    environmentVariables: {
      MLSHIP_MODEL_VERSION: candidate.modelVersion,
      MLSHIP_DATA_VERSION: candidate.dataVersion ?? '',
      MLSHIP_ENVIRONMENT: settings.name,
      MLSHIP_IMAGE_DIGEST: candidate.digest,
    },
    lineage: {
      [LABELS.modelVersion]: candidate.modelVersion,
      [LABELS.digest]: candidate.digest,
      ...(candidate.dataVersion ? { [LABELS.dataVersion]: candidate.dataVersion } : {}),
      ...(candidate.runId ? { [LABELS.runId]: candidate.runId } : {}),
      ...(candidate.gitSha ? { [LABELS.gitSha]: candidate.gitSha } : {}),
    },
  });
}
