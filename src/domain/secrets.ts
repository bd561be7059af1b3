/**
 * Secrets never leave mlship in anything it writes: logs, summaries, reports, pull-request
 * comments, image labels, registry records, exports and error messages. This is the one place
 * that knows what a secret looks like and how to remove it; everything that writes goes through a
 * SecretMasker, and adapters scrub URLs with `redactCredentials`.
 */

/** Shorter registered values would mask ordinary words; the Actions runner ignores them too. */
const MIN_REGISTERED_LENGTH = 3;
/** Values of credential-looking variables are masked from this length on (as GitHub's runner does for its own). */
export const MIN_ENVIRONMENT_SECRET_LENGTH = 6;

/** Names that look like credentials: the runner's and CI tools' convention. */
const CREDENTIAL_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|(^|_)KEY($|_))/i;
/** AWS_* variables are credentials, except those that only say where and how to connect. */
const AWS_NAME = /^AWS_(?!REGION$|DEFAULT_REGION$|PROFILE$|DEFAULT_OUTPUT$|ENDPOINT_URL|CONFIG_FILE$|SHARED_CREDENTIALS_FILE$|CA_BUNDLE$|RETRY_MODE$|MAX_ATTEMPTS$|SDK_LOAD_CONFIG$|EC2_METADATA|USE_|S3_|STS_REGIONAL)/;
/** mlship's own variables that hold hashes and ids, never secrets. */
const MLSHIP_PUBLIC = /^MLSHIP_(RUN_ID|RUN_KEY|DATA_VERSION|MODEL_VERSION|IMAGE_DIGEST|ENVIRONMENT|PARAMS|PARAMS_FILE|OUTPUT_DIR|MODEL_PATH|METRICS_PATH|PREDICTIONS_PATH)$/;

export function looksLikeCredentialName(name: string): boolean {
  if (MLSHIP_PUBLIC.test(name)) return false;
  return CREDENTIAL_NAME.test(name) || AWS_NAME.test(name);
}

/**
 * The values of environment variables whose names look like credentials (`*TOKEN*`, `*SECRET*`,
 * `*PASSWORD*`, `*KEY*`, `*CREDENTIAL*`, `AWS_*`…), 6 characters or more. Absolute paths (a
 * credentials *file* such as GOOGLE_APPLICATION_CREDENTIALS) and plain booleans are not secrets.
 */
export function credentialValues(env: Readonly<Record<string, string | undefined>>): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.length < MIN_ENVIRONMENT_SECRET_LENGTH) continue;
    if (!looksLikeCredentialName(name)) continue;
    if (value.startsWith('/') || /^(true|false)$/i.test(value)) continue;
    values.add(value);
  }
  return [...values];
}

/** A whole value that is a content hash or an object id (`sha256:…`, git's 40 or 64 hex digits). */
const DIGEST = /^(sha256:)?[0-9a-f]{40,64}$/;

/** Replaces every registered secret with `***` in text and in structured values. */
export class SecretMasker {
  private secrets: string[] = [];

  /** Registers a value (and the forms it takes in URLs and JSON). */
  add(value: string): void {
    if (value.length < MIN_REGISTERED_LENGTH) return;
    const forms = new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]);
    const known = new Set(this.secrets);
    for (const form of forms) if (form.length >= MIN_REGISTERED_LENGTH && !known.has(form)) this.secrets.push(form);
    // Longest first, so a secret that contains another is masked whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  addAll(values: Iterable<string>): this {
    for (const value of values) this.add(value);
    return this;
  }

  get size(): number {
    return this.secrets.length;
  }

  mask(text: string): string {
    let masked = text;
    for (const secret of this.secrets) if (masked.includes(secret)) masked = masked.split(secret).join('***');
    return masked;
  }

  /** A copy of a JSON-like value with every string (keys too) masked. */
  maskDeep<T>(value: T): T {
    if (this.secrets.length === 0) return value;
    return this.walk(value) as T;
  }

  private walk(value: unknown): unknown {
    // A digest that happens to contain a short secret's characters carries no secret, and masking
    // it would break the lineage that points at it.
    if (typeof value === 'string') return DIGEST.test(value) ? value : this.mask(value);
    if (Array.isArray(value)) return value.map((item) => this.walk(item));
    if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [this.mask(key), this.walk(item)]));
    }
    return value;
  }
}

/** The URL without credentials: `https://user:token@host/x` → `https://host/x`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1');
}

/** Any text with the credentials removed from the URLs in it. */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/?#'"@]*@/gi, '$1');
}

/**
 * The secret part of a URL's userinfo (the password, or a lone token as in `https://<token>@host`),
 * raw and decoded, to scrub wherever it turns up. Short ones are left: scrubbing them would
 * mangle the message, and redactCredentials already removes them from URLs.
 */
export function urlCredentials(url: string): string[] {
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url)?.[1];
  if (!userinfo) return [];
  const colon = userinfo.indexOf(':');
  const secret = colon < 0 ? userinfo : userinfo.slice(colon + 1);
  let decoded = secret;
  try {
    decoded = decodeURIComponent(secret);
  } catch {
    // not percent-encoded after all
  }
  return [...new Set([secret, decoded])].filter((part) => part.length >= MIN_ENVIRONMENT_SECRET_LENGTH);
}
