import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../config/load.js';
import { ConfigurationError, InfrastructureError } from '../../errors.js';
import { sha256Hex } from '../../domain/data/manifest.js';
import { formatDuration } from '../../domain/duration.js';
import { newRunId, shortVersion, type EnvironmentRecord, type SmokeRecord } from '../../domain/registry/records.js';
import { judgeSmoke, type SmokeJudgement } from '../../domain/smoke/checks.js';
import { readSmokeCases } from '../../services/candidate.js';
import { environmentSettings } from '../../services/environment.js';
import { actor, openProjectRegistry, workflowRunUrl } from '../../services/registry.js';
import { sendCases } from '../../services/smoke-load.js';
import { smokeLoad, smokeThresholds } from '../../services/smoke-settings.js';
import type { CommandContext, CommandDefinition, CommandResult, OptionValues } from '../command.js';

export const smoke: CommandDefinition = {
  words: ['smoke'],
  description: 'Test the live model of an environment as a model: right answers, the same scores as offline, the version deployed, fast enough.',
  options: {
    env: { type: 'string', value: 'NAME', description: 'The environment whose deployment to test (its edge URL and deployed version).' },
    url: { type: 'string', value: 'URL', description: 'Test this endpoint instead of the environment\'s edge.' },
    cases: { type: 'string', value: 'FILE', description: 'Smoke cases (JSONL) instead of smoke.cases.' },
  },
  outputs: {
    passed: 'true when every gated check passed (a smoke test, a gate…).',
    accuracy: 'Accuracy of the live answers on the labelled cases (empty when none are labelled).',
    'p50-ms': 'Median latency in milliseconds.',
    'p95-ms': '95th percentile latency in milliseconds.',
    'p99-ms': '99th percentile latency in milliseconds.',
    'max-skew': 'Largest |live score − offline score| over the cases (empty without offline scores).',
    errors: 'Requests that got no well-formed answer.',
  },
  primaryOutput: 'passed',
  run: (options, context) => runSmoke(options, context),
};

async function runSmoke(options: OptionValues, context: CommandContext): Promise<CommandResult> {
  const { reporter } = context;
  const loaded = loadConfig(context.configFile, context.configDisplay);
  const envName = typeof options.env === 'string' ? options.env : undefined;
  const explicitUrl = typeof options.url === 'string' ? options.url : undefined;
  if (!envName && !explicitUrl) throw new ConfigurationError('mlship smoke needs --env NAME (the environment to test) or --url URL');
  const settings = envName ? environmentSettings(loaded, envName, context.env) : undefined;
  const { registry } = await openProjectRegistry(context);
  const deployed: EnvironmentRecord | undefined = settings ? await registry.environment(settings.name) : undefined;
  if (settings && !deployed && !explicitUrl) {
    throw new ConfigurationError(`nothing was deployed to ${settings.name} by mlship (the registry ${registry.location} has no deployment there): run mlship deploy --env ${settings.name} first, or pass --url`);
  }
  const url = explicitUrl ?? deployed?.url ?? settings!.url;
  if (!/^https?:\/\//.test(url)) throw new ConfigurationError(`--url ${JSON.stringify(url)}: expected an http(s) URL`);
  const read = readSmokeCases(loaded, typeof options.cases === 'string' ? options.cases : undefined);
  if (!read) throw new ConfigurationError(`${loaded.where([])}: mlship smoke needs a "smoke" section with the cases file (smoke.cases), or --cases FILE`);
  const { requests, concurrency, timeoutMs, deadlineMs } = smokeLoad(loaded);
  reporter.info(`${read.cases.length} cases from ${read.file} → ${url}${deployed ? ` (deployment ${deployed.deploymentId}, model ${shortVersion(deployed.modelVersion)})` : ''}: ${requests} requests over ${concurrency} connections`);

  const load = await reporter.group(`Sending ${requests} requests to ${url}`, () =>
    sendCases({ url, cases: read.cases, requests, concurrency, timeoutMs, deadlineMs, signal: context.signal, progress: reporter.progress('requests', requests, 'objects') }),
  );
  if (context.signal.aborted) throw context.signal.reason;
  const judgement = judgeSmoke(read.cases, load.answers, smokeThresholds(loaded), { modelVersion: deployed?.modelVersion, digest: deployed?.digest });
  const deadline = load.deadlinePassed ? [`the deadline of ${formatDuration(deadlineMs)} passed with ${load.unsent} requests unsent`] : [];
  const passed = judgement.passed && !load.deadlinePassed;
  for (const check of judgement.checks) reporter.info(`${check.verdict === 'pass' ? 'pass' : check.verdict === 'fail' ? 'FAIL' : 'info'}  ${check.check}${check.threshold ? ` (${check.threshold})` : ''}: ${check.observed}`);
  for (const line of deadline) reporter.warning(line);

  const record: SmokeRecord = {
    schema: 1,
    id: newRunId(new Date(), randomBytes(3).toString('hex')),
    deploymentId: deployed?.deploymentId ?? null,
    environment: settings?.name ?? null,
    url,
    passed,
    cases: { file: read.file, sha256: `sha256:${sha256Hex(read.text)}`, count: read.cases.length },
    checks: judgement.checks,
    by: actor(context.env),
    at: new Date().toISOString(),
    runUrl: workflowRunUrl(context.env),
  };
  await registry.recordSmoke(record);

  const unreachable = judgement.requests > 0 && load.answers.every((a) => a.status === 0);
  const failed = judgement.checks.filter((c) => c.verdict === 'fail');
  return {
    outputs: {
      passed,
      accuracy: judgement.accuracy === undefined ? '' : judgement.accuracy,
      'p50-ms': judgement.latency?.p50 ?? '',
      'p95-ms': judgement.latency?.p95 ?? '',
      'p99-ms': judgement.latency?.p99 ?? '',
      'max-skew': judgement.maxSkew === undefined ? '' : judgement.maxSkew,
      errors: judgement.errors,
    },
    summary: report(judgement, record, load.elapsedMs, deadline),
    ...(unreachable
      ? { error: new InfrastructureError(`the endpoint ${url} cannot be reached: ${judgement.problems[0] ?? 'no answer'}`) }
      : passed
        ? {}
        : { failure: `smoke test of ${settings?.name ?? url} failed: ${[...failed.map((c) => `${c.check}: ${c.observed}`), ...deadline].join('; ')}${judgement.problems.length > 0 ? ` (first problems: ${judgement.problems.join('; ')})` : ''}` }),
  };
}

function report(judgement: SmokeJudgement, record: SmokeRecord, elapsedMs: number, notes: readonly string[]): string {
  const mark = { pass: '✅ pass', fail: '❌ fail', reported: 'ℹ️ reported' } as const;
  const rows = judgement.checks.map((c) => `| ${c.check} | ${c.threshold ?? '—'} | ${c.observed} | ${mark[c.verdict]} |`);
  const skew = judgement.worstSkew.map((s) => `| ${s.line} | ${s.offline} | ${s.live} | ${s.difference.toExponential(2)} |`);
  const chart =
    judgement.histogram.length > 0
      ? [
          '```mermaid',
          'xychart-beta',
          '  title "Latency (requests per bucket)"',
          `  x-axis [${judgement.histogram.map((b) => `"≤${b.upToMs} ms"`).join(', ')}]`,
          '  y-axis "requests"',
          `  bar [${judgement.histogram.map((b) => b.count).join(', ')}]`,
          '```',
        ]
      : [];
  return [
    `### ${record.passed ? '✅' : '❌'} mlship smoke: ${record.environment ?? record.url}`,
    '',
    `${judgement.requests} requests in ${formatDuration(elapsedMs)} against ${record.url}; ${record.cases.count} cases from \`${record.cases.file}\` (\`${shortVersion(record.cases.sha256)}\`)${record.deploymentId ? `; deployment \`${record.deploymentId}\`` : ''}.`,
    '',
    '| Check | Threshold | Observed | Verdict |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    ...notes.map((n) => `> ${n}\n`),
    ...(skew.length > 0 ? ['<details><summary>Worst training/serving skew</summary>', '', '| Line | Offline | Live | Difference |', '| --- | --- | --- | --- |', ...skew, '', '</details>', ''] : []),
    ...chart,
    '',
  ].join('\n');
}
