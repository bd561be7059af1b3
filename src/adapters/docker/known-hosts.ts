import { createHmac } from 'node:crypto';

/**
 * OpenSSH's known_hosts, read the way `ssh` reads it, so an `ssh://` Docker host is trusted exactly
 * when the user's own ssh client would trust it: plain and hashed (`|1|salt|hash`) host names,
 * `[host]:port` for ports other than 22, comma-separated patterns. Revoked (`@revoked`) and
 * certificate-authority (`@cert-authority`) lines are not trust anchors here and are skipped.
 */
export function knownHostKeys(text: string, host: string, port: number): string[] {
  const names = port === 22 ? [host, `[${host}]:22`] : [`[${host}]:${port}`];
  const keys: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const [patterns, , key] = line.split(/\s+/);
    if (!patterns || !key) continue;
    if (patterns.split(',').some((pattern) => names.some((name) => matches(pattern, name)))) keys.push(key);
  }
  return keys;
}

function matches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return pattern === name;
}
