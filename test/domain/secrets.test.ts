import { describe, expect, it } from 'vitest';
import { SecretMasker, credentialValues, looksLikeCredentialName } from '../../src/domain/secrets.js';

describe('what looks like a credential', () => {
  it.each([
    ['GITHUB_TOKEN', true],
    ['ACTIONS_ID_TOKEN_REQUEST_TOKEN', true],
    ['MLSHIP_REGISTRY_PASSWORD', true],
    ['DB_PASSWD', true],
    ['STRIPE_SECRET', true],
    ['AWS_SECRET_ACCESS_KEY', true],
    ['AWS_ACCESS_KEY_ID', true],
    ['AWS_SESSION_TOKEN', true],
    ['OPENAI_API_KEY', true],
    ['SSH_PRIVATE_KEY', true],
    ['GOOGLE_APPLICATION_CREDENTIALS', true],
    ['KEY', true],
    ['AWS_REGION', false],
    ['AWS_DEFAULT_REGION', false],
    ['AWS_ENDPOINT_URL_S3', false],
    ['AWS_PROFILE', false],
    ['MLSHIP_RUN_KEY', false],
    ['MONKEY_BUSINESS', false],
    ['KEYBOARD', false],
    ['HOME', false],
    ['PATH', false],
  ])('%s → %s', (name, expected) => {
    expect(looksLikeCredentialName(name)).toBe(expected);
  });

  it('takes values of 6 characters or more, and never paths or booleans', () => {
    expect(
      credentialValues({
        GITHUB_TOKEN: 'ghs_0123456789abcdef',
        SHORT_TOKEN: 'abc12',
        GOOGLE_APPLICATION_CREDENTIALS: '/etc/gcp/key.json',
        USE_SECRET: 'true',
        HOME: '/root',
        MY_PASSWORD: 'hunter22',
        UNSET_TOKEN: undefined,
      }).sort(),
    ).toEqual(['ghs_0123456789abcdef', 'hunter22']);
  });
});

describe('SecretMasker', () => {
  it('masks a secret, its URL-encoded and its JSON-escaped forms, longest first', () => {
    const masker = new SecretMasker().addAll(['p@ss/"word"', 'p@ss']);
    expect(masker.mask('raw p@ss/"word" url p%40ss%2F%22word%22 json p@ss/\\"word\\" short p@ss')).toBe('raw *** url *** json *** short ***');
  });

  it('ignores values shorter than 3 characters, as the runner does', () => {
    const masker = new SecretMasker().addAll(['ab', '']);
    expect(masker.size).toBe(0);
    expect(masker.mask('ab')).toBe('ab');
  });

  it('masks every string of a record, keys too, and leaves digests whole', () => {
    const masker = new SecretMasker().addAll(['cafe01', 'token-xyz']);
    const digest = `sha256:${'cafe01'.repeat(10)}abcd`;
    expect(
      masker.maskDeep({ logTail: ['using token-xyz'], params: { 'token-xyz': 1, nested: [{ url: 'https://token-xyz@host' }] }, model: digest, count: 3, ok: true, none: null }),
    ).toEqual({ logTail: ['using ***'], params: { '***': 1, nested: [{ url: 'https://***@host' }] }, model: digest, count: 3, ok: true, none: null });
  });
});
