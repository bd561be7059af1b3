/** Replaces registered secrets with *** in text, the way the Actions runner masks logs. */
export class SecretMasker {
  private readonly secrets = new Set<string>();

  add(secret: string): void {
    // Very short values would mask ordinary words; the runner ignores them too.
    if (secret.length >= 3) this.secrets.add(secret);
  }

  mask(text: string): string {
    let masked = text;
    for (const secret of this.secrets) masked = masked.split(secret).join('***');
    return masked;
  }
}
