/** The words of a retraining proposal: its reason, pull-request title and body, and commit message. Pure. */

export interface DriftFacts {
  /** Share of the features that drifted, 0..1, when known. */
  readonly share?: number | undefined;
  readonly features: readonly string[];
}

export interface GateLine {
  readonly metric: string;
  readonly rule: string;
  readonly verdict: string;
  readonly reason: string;
}

export interface ProposalFacts {
  readonly project: string;
  /** Why, in the user's words ("scheduled", "forced"), when given. */
  readonly reason?: string | undefined;
  readonly drift?: DriftFacts | undefined;
  /** The data version mlship.lock now pins, and the one the base pins. */
  readonly dataVersion?: string | undefined;
  readonly baseDataVersion?: string | undefined;
  /** The evaluation's gate results, when an evaluation report came with its metrics.json. */
  readonly gates?: { readonly passed: boolean; readonly results: readonly GateLine[] } | undefined;
  readonly files: readonly { readonly path: string; readonly kind: string }[];
  readonly base: string;
  /** The workflow run that made the proposal, when in Actions. */
  readonly runUrl?: string | undefined;
  /** What the comment below carries: "the evaluation report", "the drift report". */
  readonly reports: readonly string[];
}

export const DEFAULT_TITLE = 'Retrain {project}: {reason} (data {data_version})';

/** "drift in 2 features (40%): age, plan", "forced; drift in …", or "scheduled" when nothing else is known. */
export function proposalReason(reason: string | undefined, drift: DriftFacts | undefined): string {
  const parts: string[] = [];
  if (reason !== undefined && reason.trim() !== '') parts.push(reason.trim());
  // A forced run on undrifted data has a drift share of 0: that is no reason, and is not shown as one.
  if (drift && (drift.features.length > 0 || (drift.share ?? 0) > 0)) parts.push(driftWords(drift));
  return parts.length > 0 ? parts.join('; ') : 'scheduled';
}

function driftWords(drift: DriftFacts): string {
  const share = drift.share === undefined ? '' : ` (${percent(drift.share)} of features)`;
  if (drift.features.length === 0) return `drift${share}`;
  const named = drift.features.slice(0, 5).join(', ') + (drift.features.length > 5 ? `, and ${drift.features.length - 5} more` : '');
  return `drift in ${drift.features.length} feature${drift.features.length === 1 ? '' : 's'}${share}: ${named}`;
}

function percent(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}

export function shortData(version: string | undefined): string {
  return version === undefined ? 'unknown' : version.replace(/^sha256:/, '').slice(0, 12);
}

/** The title template with {project}, {reason} and {data_version} filled in, on one line. */
export function proposalTitle(template: string, facts: ProposalFacts): string {
  const fields: Record<string, string> = {
    project: facts.project,
    reason: proposalReason(facts.reason, facts.drift),
    data_version: shortData(facts.dataVersion),
  };
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => fields[name] ?? whole).replace(/\s+/g, ' ').trim().slice(0, 256);
}

export function proposalBody(facts: ProposalFacts): string {
  const lines = [
    `### mlship proposes retraining ${facts.project}`,
    '',
    `**Why:** ${proposalReason(facts.reason, facts.drift)}.`,
    '',
    `**Data version:** \`${shortData(facts.dataVersion)}\`` + (facts.baseDataVersion && facts.baseDataVersion !== facts.dataVersion ? ` (${facts.base} has \`${shortData(facts.baseDataVersion)}\`)` : '') + '.',
    '',
    ...gateLines(facts.gates),
    '',
    `**Changed:** ${facts.files.map((f) => `\`${f.path}\` (${f.kind})`).join(', ')}.`,
  ];
  if (facts.reports.length > 0) lines.push('', `The ${facts.reports.join(' and ')} ${facts.reports.length > 1 ? 'are' : 'is'} in the comment below.`);
  if (facts.runUrl) lines.push('', `Made by [this workflow run](${facts.runUrl}).`);
  lines.push(
    '',
    `<sub>Opened by \`mlship propose\`, which updates this branch on its next run. If you push to the branch yourself, mlship stops updating it and says so; merge or close this pull request to start over.</sub>`,
  );
  return `${lines.join('\n')}\n`;
}

function gateLines(gates: ProposalFacts['gates']): string[] {
  if (!gates) return ['**Gates:** no evaluation report was given.'];
  if (gates.results.length === 0) return [`**Gates:** none configured.`];
  const failed = gates.results.filter((g) => g.verdict === 'fail').length;
  const head = gates.passed ? `**Gates:** ✅ all ${gates.results.length} passed.` : `**Gates:** ❌ ${failed} of ${gates.results.length} failed.`;
  return [
    head,
    '',
    '| gate | verdict | why |',
    '|---|---|---|',
    ...gates.results.map((g) => `| ${cell(`${g.metric} ${g.rule}`)} | ${g.verdict === 'pass' ? '✅ pass' : g.verdict === 'fail' ? '❌ fail' : cell(g.verdict)} | ${cell(g.reason)} |`),
  ];
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The commit message: the title, the why, and the trailer that marks the commit as mlship's. */
export function commitMessage(title: string, facts: ProposalFacts, trailer: string, branch: string): string {
  return `${title}\n\nWhy: ${proposalReason(facts.reason, facts.drift)}\nData version: ${facts.dataVersion ?? 'unknown'}\n\n${trailer}: ${branch}\n`;
}
