// The parts of `npm run setup` that decide what to say: the plan printed before anything is
// changed, and one sentence for a failure whose cause is known (test/scripts/setup.test.ts).

/** What the driver step will change, as lines to print before doing it. */
export function planLines({ sourceFile, sourceText, packages, suite }) {
  const lines = ['[setup] To run WebGPU without a GPU, this will change the system:'];
  if (sourceFile) {
    lines.push(`  - add the apt source ${sourceFile}:`);
    for (const l of sourceText.trim().split('\n')) lines.push(`      ${l}`);
  }
  lines.push('  - run apt-get update');
  lines.push(`  - install ${packages.join(' ')}${suite ? ` from ${suite}` : ''}, which also upgrades the packages it depends on (libdrm, libgbm, LLVM and other Mesa libraries) to their ${suite ?? 'current'} versions`);
  return lines;
}

/** One sentence for a failed command when the cause is recognised, else null. */
export function failureSentence(command, output) {
  if (/Could not get lock|Unable to lock|dpkg frontend lock|lock-frontend|is another process using it/i.test(output)) {
    return `[setup] another package manager holds the dpkg lock (apt, unattended-upgrades or a software centre is running); wait until it has finished, then run: ${command}`;
  }
  if (/Temporary failure resolving|Could not resolve|Failed to fetch|Network is unreachable|Connection timed out|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ECONNRESET/i.test(output)) {
    return `[setup] the network or the package mirror cannot be reached (check the connection and any proxy settings), then run: ${command}`;
  }
  return null;
}
