import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { ConfigurationError, InfrastructureError, errnoCode } from '../../errors.js';
import { LOCK_FILE_NAME, LockFileError, parseLock } from '../../domain/data/lockfile.js';
import {
  DEFAULT_TITLE,
  commitMessage,
  proposalBody,
  proposalTitle,
  type DriftFacts,
  type GateLine,
  type ProposalFacts,
} from '../../domain/report/proposal.js';
import { PROPOSAL_TRAILER, ProposalBranch, type FileChange } from '../../adapters/git/proposal-branch.js';
import type { Repository } from '../../adapters/github/pull-requests.js';
import type { CommandContext, CommandDefinition, CommandResult, OptionValues } from '../command.js';

export const DEFAULT_PROPOSAL_BRANCH = 'mlship/retrain';
/** How often a push that lost the race to another writer of the branch is tried again. */
const PUSH_ATTEMPTS = 3;

export const propose: CommandDefinition = {
  words: ['propose'],
  description:
    'Commit the changed mlship.lock (and --add files) to a branch, push it, and open or update its pull request with the evaluation and drift reports; re-enable the scheduled workflow (keepalive).',
  options: {
    branch: { type: 'string', value: 'BRANCH', description: `Branch the proposal is pushed to (default: propose.branch, else ${DEFAULT_PROPOSAL_BRANCH}).` },
    base: { type: 'string', value: 'BRANCH', description: 'Branch the pull request targets (default: propose.base, else the checked-out branch).' },
    add: { type: 'string', value: 'FILE', multiple: true, description: 'Also commit this file (relative to mlship.yml) when it changed; repeat it or give a comma-separated list.' },
    label: { type: 'string', value: 'LABEL', multiple: true, description: 'Label the pull request (added to propose.labels); repeat it or give a comma-separated list.' },
    report: { type: 'string', value: 'FILE', description: 'The evaluation report (report.md from mlship evaluate; its metrics.json beside it gives the gate results).' },
    'drift-report': { type: 'string', value: 'FILE|DIR', description: 'The drift report (Markdown), or the directory holding it (the newest .md file in it).' },
    reason: { type: 'string', value: 'TEXT', description: 'Why, in words ("scheduled", "forced"): goes into the title and body.' },
    'drift-share': { type: 'string', value: 'SHARE', description: 'Share of the features that drifted (0 to 1), from mlship drift.' },
    'drifted-features': { type: 'string', value: 'JSON', description: 'The drifted features, from mlship drift: a JSON list (or a comma-separated list).' },
    'keepalive-workflow': {
      type: 'string',
      value: 'FILE|ID',
      description: 'The scheduled workflow to re-enable on each run (default: the running one, from GITHUB_WORKFLOW_REF); "none" turns the keepalive off.',
    },
    'keepalive-only': { type: 'boolean', description: 'Only re-enable the scheduled workflow; propose nothing.' },
  },
  outputs: {
    proposed: 'true when a pull request was opened or updated with a new data lock; false when there was nothing to propose.',
    'pull-request-number': 'Number of the pull request opened or updated (empty when none).',
    'pull-request-url': 'URL of the pull request opened or updated (empty when none).',
    branch: 'The branch the proposal was pushed to.',
    commit: 'The commit at the head of the proposal branch (empty when nothing was proposed).',
    'comment-url': 'URL of the pull-request comment written or updated (empty when none).',
    keepalive: 'What became of the scheduled workflow: enabled, skipped, or failed (a warning, not a failure).',
  },
  primaryOutput: 'pull-request-url',
  run: (options, context) => runPropose(options, context),
};

interface Settings {
  readonly branch: string;
  readonly base: string | undefined;
  readonly labels: readonly string[];
  readonly title: string;
  readonly add: readonly string[];
}

async function runPropose(options: OptionValues, context: CommandContext): Promise<CommandResult> {
  const { reporter } = context;
  if (options['keepalive-only'] === true) {
    const keepalive = await keepWorkflowAlive(options, context, { required: true });
    return { outputs: { ...nothingProposed(''), keepalive }, summary: `### mlship propose\n\nKeepalive: ${keepalive}.\n` };
  }
  const loaded = loadConfig(context.configFile, context.configDisplay);
  const settings = proposalSettings(options, loaded);
  const keepalive = await keepWorkflowAlive(options, context, { required: false });

  const git = new ProposalBranch({ directory: loaded.root, env: context.env, signal: context.signal });
  const head = await git.head();
  const lockFile = path.join(loaded.root, LOCK_FILE_NAME);
  if (!existsSync(lockFile)) throw new ConfigurationError(`${LOCK_FILE_NAME} not found in ${loaded.root}: run mlship data snapshot first, then propose the lock it writes`);
  const files = [lockFile, ...settings.add.map((file) => path.resolve(loaded.root, file))].map((file) => fromTop(head.top, file));
  const changes = await git.changes(files);
  checkAddedFilesExist(settings.add, files.slice(1), changes, head.top);

  if (!changes.some((c) => c.path === files[0])) {
    // A proposal is a new data lock: the --add files ride along with it, they are not a reason on their own.
    reporter.info(`nothing to propose: ${LOCK_FILE_NAME} is as committed in ${head.commit.slice(0, 12)}; no pull request opened or updated`);
    return {
      outputs: { ...nothingProposed(settings.branch), keepalive },
      summary: `### mlship propose\n\nNothing to propose: \`${LOCK_FILE_NAME}\` is unchanged since ${head.commit.slice(0, 12)}.\n`,
    };
  }

  const base = settings.base ?? currentBranch(context.env) ?? (await git.currentBranch());
  if (!base) throw new ConfigurationError('the checkout is on no branch: pass --base BRANCH (or set propose.base) for the pull request to target');
  if (base === settings.branch) throw new ConfigurationError(`the proposal branch and the base are both ${base}: pass --branch or --base to tell them apart`);
  const repository = repositoryOf(context.env);
  const token = context.githubToken;
  if (!token) throw new ConfigurationError('mlship propose opens a pull request and needs a GitHub token: the github-token input, or GITHUB_TOKEN on the CLI');

  const reports = readReports(options, loaded);
  const facts: ProposalFacts = {
    project: loaded.config.name,
    reason: typeof options.reason === 'string' ? options.reason : undefined,
    drift: driftFacts(options),
    dataVersion: dataVersionOf(readFileSync(lockFile, 'utf8'), LOCK_FILE_NAME),
    baseDataVersion: await git.committed(files[0]!).then((text) => (text === undefined ? undefined : dataVersionOf(text, `${LOCK_FILE_NAME} of ${base}`, true))),
    gates: reports.gates,
    files: changes,
    base,
    runUrl: runUrl(context.env),
    reports: reports.names,
  };
  const title = context.secrets.mask(proposalTitle(settings.title, facts));
  const body = context.secrets.mask(proposalBody(facts));

  const commit = await reporter.group(`Pushing ${settings.branch}`, () =>
    publish(git, head.commit, changes, context.secrets.mask(commitMessage(title, facts, PROPOSAL_TRAILER, settings.branch)), settings.branch, context),
  );

  const { GitHubPullRequests, PROPOSAL_PERMISSIONS } = await import('../../adapters/github/pull-requests.js');
  const github = new GitHubPullRequests({ token, env: context.env, signal: context.signal });
  const existing = await github.findOpen(repository, settings.branch, base);
  const pullRequest = existing
    ? await github.update(repository, existing.number, { title, body })
    : await github.create(repository, settings.branch, base, { title, body });
  reporter.info(`pull request #${pullRequest.number} ${existing ? 'updated' : 'opened'}: ${pullRequest.url}`);
  const labels = settings.labels.map((label) => context.secrets.mask(label));
  await github.addLabels(repository, pullRequest.number, labels);

  let commentUrl = '';
  let error: Error | undefined;
  if (reports.markdown !== undefined) {
    const { GitHubCommentPoster } = await import('../../adapters/github/pr-comment.js');
    const poster = new GitHubCommentPoster({ token, env: context.env, signal: context.signal });
    try {
      const outcome = await poster.upsert({ ...repository, number: pullRequest.number }, `propose ${settings.branch} ${loaded.config.name}`, context.secrets.mask(reports.markdown));
      if (outcome.kind === 'skipped') {
        error = new InfrastructureError(`${context.secrets.mask(outcome.reason)}; the job needs \`permissions: ${PROPOSAL_PERMISSIONS}\``);
      } else {
        commentUrl = outcome.url;
        reporter.info(`reports comment ${outcome.kind}: ${outcome.url}`);
      }
    } catch (caught) {
      if (!(caught instanceof InfrastructureError)) throw caught;
      error = caught;
    }
  }

  return {
    outputs: {
      proposed: true,
      'pull-request-number': pullRequest.number,
      'pull-request-url': pullRequest.url,
      branch: settings.branch,
      commit,
      'comment-url': commentUrl,
      keepalive,
    },
    summary: `### mlship propose\n\n${existing ? 'Updated' : 'Opened'} [#${pullRequest.number} ${title}](${pullRequest.url}) from \`${settings.branch}\` into \`${base}\`.\n\n${body}`,
    ...(error ? { error } : {}),
  };
}

function nothingProposed(branch: string): Record<string, string | boolean> {
  return { proposed: false, 'pull-request-number': '', 'pull-request-url': '', branch, commit: '', 'comment-url': '' };
}

/**
 * Pushes the proposal without ever replacing someone else's work. The branch is created when the
 * remote lacks it; when it exists, every commit it has beyond HEAD must be mlship's own (it carries
 * the Mlship-Proposal trailer), and then it is replaced with a lease on exactly the commit that was
 * inspected. A branch someone else pushed to is left alone: the command fails naming their commits.
 * Returns the commit the branch ends on.
 */
async function publish(git: ProposalBranch, head: string, changes: readonly FileChange[], message: string, branch: string, context: CommandContext): Promise<string> {
  const commit = await git.commit(head, changes, message);
  for (let attempt = 1; attempt <= PUSH_ATTEMPTS; attempt++) {
    const tip = await git.fetch(branch);
    if (tip !== undefined) {
      const foreign = await git.foreignCommits(head, tip);
      if (foreign.length > 0) {
        const named = foreign.map((c) => `${c.sha.slice(0, 12)} "${c.subject}" by ${c.author}`).join('; ');
        throw new InfrastructureError(
          context.secrets.mask(
            `branch ${branch} on ${git.remote} has ${foreign.length === 1 ? 'a commit' : `${foreign.length} commits`} that mlship did not make: ${named}. ` +
              'mlship never overwrites them: merge or close its pull request (or delete the branch), or propose on another branch with --branch',
          ),
        );
      }
      const [ours, theirs] = await Promise.all([git.describe(commit), git.describe(tip)]);
      if (ours.tree === theirs.tree && theirs.parents.length === 1 && theirs.parents[0] === head) {
        context.reporter.info(`${branch} already proposes these files on ${head.slice(0, 12)} (${tip.slice(0, 12)}): nothing pushed`);
        return tip;
      }
    }
    if (await git.push(commit, branch, tip)) {
      context.reporter.info(`${tip === undefined ? 'created' : 'updated'} ${branch} at ${commit.slice(0, 12)}`);
      return commit;
    }
    context.reporter.info(`${branch} moved while mlship was pushing; looking again (attempt ${attempt + 1} of ${PUSH_ATTEMPTS})`);
  }
  throw new InfrastructureError(`branch ${branch} kept changing on ${git.remote} while mlship pushed (${PUSH_ATTEMPTS} attempts); run again`);
}

/**
 * Re-enables the scheduled workflow: GitHub disables a schedule after 60 days without activity in
 * the repository, and a model that retrains only when its data drifts may go that long without a
 * pull request. A failure is a warning, not a failed proposal: the proposal is what the run is for,
 * and the schedule is still on for weeks; the warning says which permission is missing.
 */
async function keepWorkflowAlive(options: OptionValues, context: CommandContext, { required }: { required: boolean }): Promise<'enabled' | 'skipped' | 'failed'> {
  const { reporter } = context;
  const named = typeof options['keepalive-workflow'] === 'string' ? options['keepalive-workflow'].trim() : undefined;
  if (named === 'none') {
    if (required) throw new ConfigurationError('--keepalive-only with --keepalive-workflow none does nothing');
    return 'skipped';
  }
  const workflow = named || workflowOfRef(context.env.GITHUB_WORKFLOW_REF);
  if (!workflow) {
    if (required) throw new ConfigurationError('--keepalive-only needs the workflow to re-enable: --keepalive-workflow FILE (or run inside GitHub Actions, which sets GITHUB_WORKFLOW_REF)');
    reporter.info('keepalive: skipped (no --keepalive-workflow, and not inside a GitHub Actions workflow run)');
    return 'skipped';
  }
  const repository = required ? repositoryOf(context.env) : repositoryOrUndefined(context.env);
  const token = context.githubToken;
  if (!repository || !token) {
    if (required) throw new ConfigurationError('--keepalive-only needs a GitHub token (github-token input, or GITHUB_TOKEN on the CLI)');
    reporter.warning(`keepalive: workflow ${workflow} not re-enabled: ${token ? 'GITHUB_REPOSITORY is not "owner/repo"' : 'no GitHub token'}`);
    return 'failed';
  }
  const { GitHubPullRequests } = await import('../../adapters/github/pull-requests.js');
  try {
    await new GitHubPullRequests({ token, env: context.env, signal: context.signal }).enableWorkflow(repository, workflow);
  } catch (error) {
    if (!(error instanceof InfrastructureError)) throw error;
    reporter.warning(`keepalive: workflow ${workflow} not re-enabled (GitHub disables a schedule after 60 days without repository activity): ${error.message}`);
    return 'failed';
  }
  reporter.info(`keepalive: re-enabled workflow ${workflow}, so GitHub does not disable its schedule after 60 days without repository activity`);
  return 'enabled';
}

/** `octo/widgets/.github/workflows/mlship-retrain.yml@refs/heads/main` → `mlship-retrain.yml`. */
export function workflowOfRef(ref: string | undefined): string | undefined {
  if (!ref) return undefined;
  const file = ref.replace(/@.*$/, '').split('/').pop();
  return file || undefined;
}

function proposalSettings(options: OptionValues, loaded: LoadedConfig): Settings {
  const config = loaded.config.propose;
  const list = (value: string | boolean | undefined): string[] =>
    typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter((item) => item !== '') : [];
  const branch = typeof options.branch === 'string' ? checkBranch(options.branch, '--branch') : (config?.branch ?? DEFAULT_PROPOSAL_BRANCH);
  const base = typeof options.base === 'string' ? checkBranch(options.base, '--base') : config?.base;
  const add = list(options.add);
  for (const file of add) {
    if (path.isAbsolute(file)) throw new ConfigurationError(`--add ${file}: expected a path relative to ${loaded.root}`);
    const relative = path.relative(loaded.root, path.resolve(loaded.root, file));
    if (relative.startsWith('..')) throw new ConfigurationError(`--add ${file}: the file is outside the repository (${loaded.root})`);
  }
  return { branch, base, labels: [...new Set([...(config?.labels ?? []), ...list(options.label)])], title: config?.title ?? DEFAULT_TITLE, add };
}

function checkBranch(name: string, option: string): string {
  if (!/^[^\s~^:?*[\\]+$/.test(name) || name.startsWith('-') || name.includes('..') || name.endsWith('/') || name.endsWith('.lock')) {
    throw new ConfigurationError(`${option}: ${JSON.stringify(name)} is not a valid git branch name`);
  }
  return name;
}

/** Paths from the repository's top, in git's form. */
function fromTop(top: string, file: string): string {
  return path.relative(top, file).split(path.sep).join('/');
}

function checkAddedFilesExist(add: readonly string[], files: readonly string[], changes: readonly FileChange[], top: string): void {
  files.forEach((file, i) => {
    const changed = changes.find((c) => c.path === file);
    if (!changed && !existsSync(path.join(top, file))) throw new ConfigurationError(`--add ${add[i]}: no such file, and none in the checked-out commit`);
  });
}

/** The checked-out branch as Actions names it (a push or schedule runs on refs/heads/<branch>). */
function currentBranch(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const ref = env.GITHUB_REF;
  return ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
}

function repositoryOrUndefined(env: Readonly<Record<string, string | undefined>>): Repository | undefined {
  const [owner, repo, ...rest] = (env.GITHUB_REPOSITORY ?? '').split('/');
  return owner && repo && rest.length === 0 ? { owner, repo } : undefined;
}

function repositoryOf(env: Readonly<Record<string, string | undefined>>): Repository {
  const repository = repositoryOrUndefined(env);
  if (!repository) throw new ConfigurationError('GITHUB_REPOSITORY is not "owner/repo": set it to the repository the pull request goes to (Actions sets it)');
  return repository;
}

function runUrl(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: run } = env;
  return server && repository && run ? `${server.replace(/\/+$/, '')}/${repository}/actions/runs/${run}` : undefined;
}

function dataVersionOf(text: string, display: string, lenient = false): string | undefined {
  try {
    return parseLock(text).data?.version;
  } catch (error) {
    if (lenient || !(error instanceof LockFileError)) return undefined;
    throw new ConfigurationError(`${display}: ${error.message}`);
  }
}

function driftFacts(options: OptionValues): DriftFacts | undefined {
  const shareText = typeof options['drift-share'] === 'string' ? options['drift-share'] : undefined;
  const featuresText = typeof options['drifted-features'] === 'string' ? options['drifted-features'] : undefined;
  if (shareText === undefined && featuresText === undefined) return undefined;
  let share: number | undefined;
  if (shareText !== undefined && shareText.trim() !== '') {
    share = Number(shareText);
    if (!Number.isFinite(share) || share < 0 || share > 1) throw new ConfigurationError(`--drift-share: expected a number between 0 and 1, got ${JSON.stringify(shareText)}`);
  }
  return { share, features: featureNames(featuresText ?? '') };
}

/** A JSON list of names (or of objects with a name or feature), or a comma-separated list. */
function featureNames(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (!trimmed.startsWith('[')) return trimmed.split(',').map((name) => name.trim()).filter((name) => name !== '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new ConfigurationError(`--drifted-features: expected a JSON list of feature names, got ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (!Array.isArray(parsed)) throw new ConfigurationError('--drifted-features: expected a JSON list of feature names');
  return parsed.map((item: unknown, i) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'object' && item !== null) {
      const name = (item as { name?: unknown; feature?: unknown }).name ?? (item as { feature?: unknown }).feature;
      if (typeof name === 'string') return name;
    }
    throw new ConfigurationError(`--drifted-features[${i}]: expected a feature name, got ${JSON.stringify(item)}`);
  });
}

interface Reports {
  /** The comment: the drift report, then the evaluation report. */
  readonly markdown: string | undefined;
  readonly names: string[];
  readonly gates: ProposalFacts['gates'];
}

function readReports(options: OptionValues, loaded: LoadedConfig): Reports {
  const parts: string[] = [];
  const names: string[] = [];
  let gates: ProposalFacts['gates'];
  const driftOption = typeof options['drift-report'] === 'string' ? options['drift-report'] : undefined;
  if (driftOption) {
    parts.push(readText(driftReportFile(path.resolve(loaded.root, driftOption), driftOption), '--drift-report'));
    names.push('drift report');
  }
  const reportOption = typeof options.report === 'string' ? options.report : undefined;
  if (reportOption) {
    const file = path.resolve(loaded.root, reportOption);
    parts.push(readText(file, '--report'));
    names.push('evaluation report');
    gates = gateResults(path.join(path.dirname(file), 'metrics.json'));
  }
  return { markdown: parts.length > 0 ? parts.join('\n\n---\n\n') : undefined, names, gates };
}

/** A file as given, or the newest Markdown file of a directory. */
function driftReportFile(target: string, display: string): string {
  let isDirectory = false;
  try {
    isDirectory = statSync(target).isDirectory();
  } catch {
    return target; // readText says it is missing
  }
  if (!isDirectory) return target;
  const newest = readdirSync(target)
    .filter((name) => name.endsWith('.md'))
    .map((name) => ({ file: path.join(target, name), time: statSync(path.join(target, name)).mtimeMs }))
    .sort((a, b) => b.time - a.time)[0];
  if (!newest) throw new ConfigurationError(`--drift-report ${display}: the directory holds no Markdown report (.md)`);
  return newest.file;
}

/** The gate results evaluate wrote beside its report (metrics.json), when it is there and readable. */
function gateResults(file: string): ProposalFacts['gates'] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const { passed, gates } = (parsed ?? {}) as { passed?: unknown; gates?: unknown };
  if (typeof passed !== 'boolean' || !Array.isArray(gates)) return undefined;
  const results: GateLine[] = gates.map((g: unknown) => {
    const r = (g ?? {}) as Record<string, unknown>;
    return { metric: String(r.metric ?? '?'), rule: String(r.rule ?? ''), verdict: String(r.verdict ?? '?'), reason: String(r.reason ?? '') };
  });
  return { passed, results };
}

function readText(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`${option} ${file}: ${errnoCode(error) === 'ENOENT' ? 'no such file' : String(error)}`);
  }
}
