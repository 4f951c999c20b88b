/** Replaces registered secrets (and each of their lines) with ***. */
export class Redactor {
  private readonly secrets = new Set<string>()

  add(value: string): void {
    for (const part of [value, ...value.split(/\r?\n/)].map(v => v.trim())) {
      if (part.length >= 4) this.secrets.add(part)
    }
  }

  redact(text: string): string {
    let result = text
    // Longest first, so a secret containing another is replaced whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      result = result.split(secret).join('***')
    }
    return result
  }
}
