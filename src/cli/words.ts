import { ConfigurationError } from '../errors.js';

/**
 * Splits the action's `command` input into words the way a POSIX shell would for plain text:
 * whitespace separates, single quotes keep everything, double quotes and backslashes escape.
 * No expansion of any kind: the input is data, not a script.
 */
export function splitWords(input: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < input.length; i += 1) {
    const ch = input[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else current += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && i + 1 < input.length && '"\\$`'.includes(input[i + 1]!)) current += input[++i];
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < input.length) {
      current += input[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) throw new ConfigurationError(`command: unterminated ${quote === '"' ? 'double' : 'single'} quote in ${JSON.stringify(input)}`);
  if (inWord) words.push(current);
  return words;
}
