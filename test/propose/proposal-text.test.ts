import { describe, expect, it } from 'vitest';
import { DEFAULT_TITLE, proposalBody, proposalReason, proposalTitle, type ProposalFacts } from '../../src/domain/report/proposal.js';

const FACTS: ProposalFacts = {
  project: 'churn',
  dataVersion: `sha256:${'ab'.repeat(32)}`,
  baseDataVersion: `sha256:${'cd'.repeat(32)}`,
  files: [{ path: 'mlship.lock', kind: 'modified' }],
  base: 'main',
  reports: [],
};

describe('the words of a proposal', () => {
  it.each([
    [undefined, undefined, 'scheduled'],
    ['forced', undefined, 'forced'],
    ['  ', undefined, 'scheduled'],
    [undefined, { share: 0.4, features: ['age', 'plan'] }, 'drift in 2 features (40% of features): age, plan'],
    ['scheduled', { share: 1 / 3, features: ['age'] }, 'scheduled; drift in 1 feature (33.3% of features): age'],
    [undefined, { features: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] }, 'drift in 7 features: a, b, c, d, e, and 2 more'],
    [undefined, { share: 0.25, features: [] }, 'drift (25% of features)'],
    // A forced run on data that did not drift: a share of 0 is no reason.
    ['forced', { share: 0, features: [] }, 'forced'],
  ])('reason %j with drift %j reads %j', (reason, drift, expected) => {
    expect(proposalReason(reason, drift)).toBe(expected);
  });

  it('fills the title template on one line, leaving unknown braces as they are', () => {
    expect(proposalTitle(DEFAULT_TITLE, { ...FACTS, reason: 'forced' })).toBe(`Retrain churn: forced (data ${'ab'.repeat(6)})`);
    expect(proposalTitle('{project}\n{reason} {other}', FACTS)).toBe('churn scheduled {other}');
  });

  it('says in the body why, which data, the base data, the gates and the files', () => {
    const body = proposalBody({
      ...FACTS,
      gates: { passed: false, results: [{ metric: 'auc', rule: '≥ 0.8', verdict: 'fail', reason: 'a | b' }, { metric: 'auc', rule: 'vs production', verdict: 'pass', reason: 'ok' }] },
      reports: ['drift report', 'evaluation report'],
      runUrl: 'https://github.com/octo/widgets/actions/runs/1',
    });
    expect(body).toContain('**Why:** scheduled.');
    expect(body).toContain(`**Data version:** \`${'ab'.repeat(6)}\` (main has \`${'cd'.repeat(6)}\`).`);
    expect(body).toContain('**Gates:** ❌ 1 of 2 failed.');
    expect(body).toContain('| auc ≥ 0.8 | ❌ fail | a \\| b |');
    expect(body).toContain('**Changed:** `mlship.lock` (modified).');
    expect(body).toContain('The drift report and evaluation report are in the comment below.');
    expect(body).toContain('[this workflow run](https://github.com/octo/widgets/actions/runs/1)');
    expect(proposalBody(FACTS)).toContain('**Gates:** no evaluation report was given.');
  });
});
