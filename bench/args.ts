/** Command-line helpers shared by the bench scripts. */

/** argv[i], the value of flag `flag`; an error naming the flag when the command line ends before it. */
export function flagValue(argv: readonly string[], i: number, flag: string): string {
  const x = argv[i];
  if (x === undefined) throw new Error(`${flag} needs a value`);
  return x;
}
