#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);

// src/domain/secrets.ts
var MIN_REGISTERED_LENGTH = 3;
var MIN_ENVIRONMENT_SECRET_LENGTH = 6;
var CREDENTIAL_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|(^|_)KEY($|_))/i;
var AWS_NAME = /^AWS_(?!REGION$|DEFAULT_REGION$|PROFILE$|DEFAULT_OUTPUT$|ENDPOINT_URL|CONFIG_FILE$|SHARED_CREDENTIALS_FILE$|CA_BUNDLE$|RETRY_MODE$|MAX_ATTEMPTS$|SDK_LOAD_CONFIG$|EC2_METADATA|USE_|S3_|STS_REGIONAL)/;
var MLSHIP_PUBLIC = /^MLSHIP_(RUN_ID|RUN_KEY|DATA_VERSION|MODEL_VERSION|IMAGE_DIGEST|ENVIRONMENT|PARAMS|PARAMS_FILE|OUTPUT_DIR|MODEL_PATH|METRICS_PATH|PREDICTIONS_PATH)$/;
function looksLikeCredentialName(name) {
  if (MLSHIP_PUBLIC.test(name)) return false;
  return CREDENTIAL_NAME.test(name) || AWS_NAME.test(name);
}
function credentialValues(env) {
  const values = /* @__PURE__ */ new Set();
  for (const [name, value] of Object.entries(env)) {
    if (value === void 0 || value.length < MIN_ENVIRONMENT_SECRET_LENGTH) continue;
    if (!looksLikeCredentialName(name)) continue;
    if (value.startsWith("/") || /^(true|false)$/i.test(value)) continue;
    values.add(value);
  }
  return [...values];
}
var DIGEST = /^(sha256:)?[0-9a-f]{40,64}$/;
var SecretMasker = class {
  secrets = [];
  /** Registers a value (and the forms it takes in URLs and JSON). */
  add(value) {
    if (value.length < MIN_REGISTERED_LENGTH) return;
    const forms = /* @__PURE__ */ new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]);
    const known = new Set(this.secrets);
    for (const form of forms) if (form.length >= MIN_REGISTERED_LENGTH && !known.has(form)) this.secrets.push(form);
    this.secrets.sort((a, b) => b.length - a.length);
  }
  addAll(values) {
    for (const value of values) this.add(value);
    return this;
  }
  get size() {
    return this.secrets.length;
  }
  mask(text) {
    let masked = text;
    for (const secret of this.secrets) if (masked.includes(secret)) masked = masked.split(secret).join("***");
    return masked;
  }
  /** A copy of a JSON-like value with every string (keys too) masked. */
  maskDeep(value) {
    if (this.secrets.length === 0) return value;
    return this.walk(value);
  }
  walk(value) {
    if (typeof value === "string") return DIGEST.test(value) ? value : this.mask(value);
    if (Array.isArray(value)) return value.map((item) => this.walk(item));
    if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [this.mask(key), this.walk(item)]));
    }
    return value;
  }
};
function redactUrl(url) {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1");
}
function redactCredentials(text) {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/?#'"@]*@/gi, "$1");
}
function urlCredentials(url) {
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url)?.[1];
  if (!userinfo) return [];
  const colon = userinfo.indexOf(":");
  const secret = colon < 0 ? userinfo : userinfo.slice(colon + 1);
  let decoded = secret;
  try {
    decoded = decodeURIComponent(secret);
  } catch {
  }
  return [.../* @__PURE__ */ new Set([secret, decoded])].filter((part) => part.length >= MIN_ENVIRONMENT_SECRET_LENGTH);
}

export {
  credentialValues,
  SecretMasker,
  redactUrl,
  redactCredentials,
  urlCredentials
};
