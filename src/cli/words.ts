// Counts in printed lines: "1 unit", "2 units".

/** `n` and the noun, plural unless n is 1 ("1 segment", "3 segments", "0 units"). */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}
