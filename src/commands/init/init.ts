import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../adapters/fs/atomic.js';
import { filesUnder, templatesDirectory } from '../../adapters/fs/templates.js';
import { parseConfig } from '../../config/load.js';
import { ConfigurationError, errnoCode } from '../../errors.js';
import type { CommandContext, CommandDefinition, CommandResult, OptionValues } from '../command.js';
import { dockerignore, mlshipYml, SERVING_DOCKERFILE, SERVING_SERVER, type ProjectPlan } from './files.js';

export const init: CommandDefinition = {
  words: ['init'],
  description: 'Set up mlship in this repository: mlship.yml, the workflows, and a serving image skeleton when there is no Dockerfile. Asks nothing; never overwrites without --force.',
  options: {
    name: { type: 'string', value: 'NAME', description: 'The project name (default: the directory\'s name).' },
    'train-command': { type: 'string', value: 'CMD', description: 'The training command (default: python3 train.py, or train/, when found).' },
    data: { type: 'string', value: 'PATH', multiple: true, description: 'A data path; repeat it or separate paths with commas (default: data/ or datasets/, when found).' },
    registry: { type: 'string', value: 'STORE', description: 'registry.store: git (default) or file:///path.' },
    image: { type: 'string', value: 'REPOSITORY', description: 'image.repository (default: ghcr.io/<owner>/<name> from a GitHub origin).' },
    dir: { type: 'string', value: 'DIR', description: 'The repository to set up (default: the current directory, or <target>).' },
    example: { type: 'string', value: 'NAME', description: 'Copy the example project NAME (churn) into <target> instead.' },
    force: { type: 'boolean', description: 'Overwrite files that exist (init), or copy into a non-empty <target> (--example).' },
  },
  arguments: [{ name: 'target', description: 'The directory to set up (same as --dir).', optional: true }],
  outputs: {
    written: 'JSON list of the files written, relative to the directory set up.',
    skipped: 'JSON list of the files left as they were because they exist (--force overwrites them).',
  },
  run: (options, context) => runInit(options, context),
};

interface PlannedFile {
  readonly path: string;
  readonly content: string;
}

async function runInit(options: OptionValues, context: CommandContext): Promise<CommandResult> {
  const base = path.dirname(context.configFile);
  const target = stringOption(options.dir) ?? stringOption(options.target);
  const directory = path.resolve(base, target ?? '.');
  const force = options.force === true;
  const example = stringOption(options.example);
  if (example !== undefined) return copyExample(example, directory, target, force, context);

  if (!isDirectory(directory)) throw new ConfigurationError(`${target ?? directory}: not a directory; create the repository first (git init)`);
  const plan = detect(directory, options);
  const templates = templatesDirectory();
  const workflows = filesUnder(path.join(templates, 'workflows')).filter((name) => name.endsWith('.yml'));
  const files: PlannedFile[] = [
    { path: 'mlship.yml', content: mlshipYml(plan) },
    ...workflows.map((name) => ({ path: `.github/workflows/${name}`, content: readFileSync(path.join(templates, 'workflows', name), 'utf8') })),
    { path: '.dockerignore', content: dockerignore(plan) },
    ...(plan.hasDockerfile ? [] : [{ path: 'Dockerfile', content: SERVING_DOCKERFILE }, { path: 'serve.py', content: SERVING_SERVER }]),
  ];
  // What init writes must itself validate: a bug here is mlship's, not the user's.
  parseConfig(files[0]!.content, path.join(directory, 'mlship.yml'));

  const written: string[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    const destination = path.join(directory, file.path);
    // .dockerignore is written only when absent, whatever --force says: it may be the user's own.
    if (existsSync(destination) && (!force || file.path === '.dockerignore')) {
      skipped.push(file.path);
      continue;
    }
    mkdirSync(path.dirname(destination), { recursive: true });
    writeFileAtomic(destination, file.content);
    written.push(file.path);
  }
  const { reporter } = context;
  for (const file of written) reporter.info(`wrote ${file}`);
  for (const file of skipped) reporter.info(`skipped ${file}: it exists${file === '.dockerignore' ? '' : ' (--force overwrites it)'}`);
  const missing = [
    ...(plan.trainCommand === undefined ? ['no train.py or train/ found: the train section is commented out (or pass --train-command)'] : []),
    ...(plan.dataPaths.length === 0 ? ['no data/ or datasets/ folder found: the data section is commented out (or pass --data)'] : []),
  ];
  for (const warning of missing) reporter.warning(warning);
  const next = [
    'mlship validate                      # check mlship.yml (and again after each edit)',
    ...(plan.dataPaths.length > 0 ? ['mlship data snapshot && git add mlship.lock   # pin the data; set data.store to a bucket for CI'] : []),
    `git add ${written.join(' ')} && git commit`,
    'then open a pull request: the mlship pr workflow validates, trains, evaluates and comments',
  ];
  reporter.info(`next:\n  ${next.join('\n  ')}`);
  return {
    outputs: { written, skipped },
    summary: [
      '### mlship init',
      '',
      ...written.map((f) => `- wrote \`${f}\``),
      ...skipped.map((f) => `- skipped \`${f}\` (exists)`),
      ...missing.map((w) => `- ${w}`),
      '',
    ].join('\n'),
  };
}

function stringOption(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** What the repository already has, and what the flags say instead. */
function detect(directory: string, options: OptionValues): ProjectPlan {
  const has = (relative: string): boolean => existsSync(path.join(directory, relative));
  const name = stringOption(options.name) ?? projectName(path.basename(directory));
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) {
    throw new ConfigurationError(`--name: expected a name of lowercase letters, digits, dots, dashes and underscores, got ${JSON.stringify(name)}`);
  }
  const trainCommand =
    stringOption(options['train-command']) ??
    (has('train.py') ? 'python3 train.py' : has('train/train.py') ? 'python3 train/train.py' : has('train/__main__.py') ? 'python3 -m train' : undefined);
  const dataOption = stringOption(options.data);
  const dataPaths = dataOption !== undefined ? dataOption.split(',').map((p) => p.trim()).filter((p) => p !== '') : ['data', 'datasets'].filter((d) => isDirectory(path.join(directory, d)));
  const owner = githubOwner(directory);
  return {
    name,
    trainCommand,
    dataPaths,
    registry: stringOption(options.registry) ?? 'git',
    image: stringOption(options.image) ?? `ghcr.io/${owner ?? 'your-org'}/${name}`,
    imageUser: stringOption(options.image) === undefined ? owner : undefined,
    hasDockerfile: has('Dockerfile'),
  };
}

/** A directory name as a project name: `My Model` → `my-model`. */
export function projectName(directory: string): string {
  const name = directory.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').replace(/-+$/, '');
  return name === '' ? 'model' : name;
}

/** The owner of a github.com origin (from .git/config, without running git), lowercased. */
function githubOwner(directory: string): string | undefined {
  let config: string;
  try {
    config = readFileSync(path.join(directory, '.git', 'config'), 'utf8');
  } catch {
    return undefined;
  }
  const origin = /\[remote "origin"\][^[]*?url\s*=\s*(\S+)/.exec(config)?.[1];
  const owner = origin && /github\.com[/:]([^/]+)\//.exec(origin)?.[1];
  return owner ? owner.toLowerCase() : undefined;
}

function copyExample(example: string, directory: string, shown: string | undefined, force: boolean, context: CommandContext): CommandResult {
  const templates = templatesDirectory();
  const examples = readdirSync(templates).filter((name) => name !== 'workflows' && isDirectory(path.join(templates, name)));
  if (!examples.includes(example)) throw new ConfigurationError(`--example ${example}: no such example (there is ${examples.join(', ')})`);
  if (shown === undefined) throw new ConfigurationError(`--example ${example}: give the directory to copy it into: mlship init --example ${example} DIR`);
  if (isDirectory(directory) && readdirSync(directory).length > 0 && !force) {
    throw new ConfigurationError(`${shown}: the directory is not empty; choose another, or pass --force to copy into it`);
  }
  const source = path.join(templates, example);
  const files = filesUnder(source).filter((file) => !file.split('/').includes('.mlship'));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(directory, file)), { recursive: true });
    writeFileAtomic(path.join(directory, file), readFileSync(path.join(source, file)));
  }
  context.reporter.info(`copied the ${example} example (${files.length} files) into ${shown}`);
  return { outputs: { written: files, skipped: [] }, summary: `### mlship init\n\nCopied the \`${example}\` example into \`${shown}\`.\n` };
}
