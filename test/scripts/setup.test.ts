// npm run setup says what it will change before it changes it, and a held dpkg lock or a
// network failure ends in one sentence with the command to run again (no stack trace).
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript module without types
import { failureSentence, planLines } from '../../scripts/setup-lib.mjs';

describe('npm run setup', () => {
  it('lists the apt source and the packages before changing anything', () => {
    const lines: string[] = planLines({ sourceFile: '/etc/apt/sources.list.d/bookworm-backports.sources', sourceText: 'Types: deb\nSuites: bookworm-backports\n', packages: ['mesa-vulkan-drivers'], suite: 'bookworm-backports' });
    expect(lines.join('\n')).toMatch(/this will change the system:\n {2}- add the apt source \/etc\/apt\/sources\.list\.d\/bookworm-backports\.sources:\n {6}Types: deb\n {6}Suites: bookworm-backports\n {2}- run apt-get update\n {2}- install mesa-vulkan-drivers from bookworm-backports, which also upgrades the packages it depends on/);
  });

  it('a held dpkg lock or a network failure is one sentence with the command', () => {
    const cmd = 'apt-get update';
    expect(failureSentence(cmd, 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1234 (apt)')).toBe(
      '[setup] another package manager holds the dpkg lock (apt, unattended-upgrades or a software centre is running); wait until it has finished, then run: apt-get update');
    expect(failureSentence(cmd, 'Err:1 http://deb.debian.org/debian bookworm InRelease\n  Temporary failure resolving \'deb.debian.org\'')).toBe(
      '[setup] the network or the package mirror cannot be reached (check the connection and any proxy settings), then run: apt-get update');
    expect(failureSentence(cmd, 'E: something else')).toBeNull();
  });
});
