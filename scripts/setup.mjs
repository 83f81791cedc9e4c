#!/usr/bin/env node
// `npm run setup`: installs the npm dependencies, makes sure WebGPU has a Vulkan driver
// to run on, and builds dist/. Safe to run again: each step checks before it acts.
//
// Why the driver step: without a GPU, Dawn (the WebGPU implementation behind the `webgpu`
// package) needs a software Vulkan driver. Debian 12's own Mesa 22 lavapipe is rejected by
// Dawn; Mesa >= 25 from bookworm-backports works. See README "GPU backends".
//
// Before it changes the system (an apt source, packages) it prints what it will change and asks
// (on a terminal) or needs --yes (elsewhere); --dry-run prints the plan and changes nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { failureSentence, planLines } from './setup-lib.mjs';

const argv = process.argv.slice(2);
const yes = argv.includes('--yes') || process.env.SPIKESIFT_SETUP_YES === '1';
const dryRun = argv.includes('--dry-run');

/** Runs `cmd`, its output shown as it comes; a known failure ends with one sentence, no stack trace. */
function run(cmd) {
  console.log(`[setup] $ ${cmd}`);
  if (dryRun) return;
  const r = spawnSync('sh', ['-c', cmd], { stdio: ['inherit', 'inherit', 'pipe'], encoding: 'utf8' });
  if (r.stderr) process.stderr.write(r.stderr);
  if (r.status !== 0) {
    console.error(failureSentence(cmd, r.stderr ?? '') ?? `[setup] this step failed (exit status ${r.status}); fix what it printed above, then run: ${cmd}`);
    process.exit(1);
  }
}

function quiet(cmd) {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

// 1. npm dependencies (reproducible when the lock file exists); changes only ./node_modules.
run(existsSync('package-lock.json') ? 'npm ci --no-audit --no-fund' : 'npm install --no-audit --no-fund');

// 2. A Vulkan driver for WebGPU, only where we can tell what is needed (Debian/Ubuntu).
function hasUsableVulkanDriver() {
  // A hardware driver (NVIDIA, AMD, Intel) or a Mesa >= 25 lavapipe.
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  const icds = dirs.filter(existsSync).flatMap((d) => readdirSync(d));
  const nonLavapipe = icds.filter((f) => !/lvp|intel_hasvk|virtio|asahi|freedreno|broadcom|panfrost|powervr|radeon|intel_icd/.test(f));
  const mesa = quiet("dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null");
  const mesaMajor = mesa ? Number.parseInt(mesa.replace(/^\d+:/, ''), 10) : 0;
  if (mesaMajor >= 25) return true;
  if (nonLavapipe.length > 0 && !mesa) return true; // e.g. a vendor driver installed alone
  if (existsSync('/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json')) return true;
  return false;
}

const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
const isDebian12 = /VERSION_CODENAME=bookworm/.test(osRelease);
const isDebianLike = /ID(_LIKE)?=.*(debian|ubuntu)/.test(osRelease);

if (process.env.SPIKESIFT_SKIP_DRIVER === '1') {
  console.log('[setup] SPIKESIFT_SKIP_DRIVER=1: not checking the Vulkan driver.');
} else if (hasUsableVulkanDriver()) {
  console.log('[setup] A usable Vulkan driver is present.');
} else if (!isDebianLike) {
  console.log('[setup] No usable Vulkan driver found, and this is not Debian/Ubuntu: install your GPU vendor\'s Vulkan driver (or Mesa >= 25 lavapipe). spikesift still runs on the CPU backend without one.');
} else {
  const cmds = [];
  const plan = { sourceFile: null, sourceText: '', packages: ['mesa-vulkan-drivers'], suite: null };
  if (isDebian12) {
    const src = '/etc/apt/sources.list.d/bookworm-backports.sources';
    // The mirror the machine already uses (deb822 `URIs:` or one-line `deb URL` entries).
    const mirror =
      quiet("grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -oE 'https?://[^ ]+/debian/?$|https?://[^ ]+/debian ' | grep -v security | head -n1 | tr -d ' '") ||
      'http://deb.debian.org/debian';
    plan.suite = 'bookworm-backports';
    if (!existsSync(src)) {
      plan.sourceFile = src;
      plan.sourceText = `Types: deb\nURIs: ${mirror}\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`;
      cmds.push(`printf 'Types: deb\\nURIs: ${mirror}\\nSuites: bookworm-backports\\nComponents: main\\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\\n' > ${src}`);
    }
    cmds.push('apt-get update');
    cmds.push('DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers');
  } else {
    plan.packages.push('libvulkan1');
    cmds.push('apt-get update');
    cmds.push('DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1');
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    for (const l of planLines(plan)) console.log(l);
    let go = yes && !dryRun;
    if (!yes && !dryRun && process.stdin.isTTY) {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      go = /^y(es)?$/i.test((await rl.question('[setup] Make these changes? [y/N] ')).trim());
      rl.close();
    }
    if (go) {
      for (const c of cmds) run(c);
    } else {
      console.log(dryRun ? '[setup] --dry-run: nothing changed. The commands:' : `[setup] Nothing changed${process.stdin.isTTY ? '' : ' (not a terminal: pass --yes, i.e. npm run setup -- --yes, to make the changes)'}. To make them yourself, run:`);
      for (const c of cmds) console.log(`  ${c}`);
      console.log('[setup] Until then spikesift uses its CPU backend (same results, chosen automatically).');
    }
  } else {
    console.log('[setup] No usable Vulkan driver. Not root, so not installing it. Run as root:');
    for (const c of cmds) console.log(`  sudo sh -c "${c.replace(/"/g, '\\"')}"`);
    console.log('[setup] Until then spikesift uses its CPU backend (same results, chosen automatically).');
  }
}

// 3. Build dist/ (the package entry and the `spikesift` command).
run('npm run build');
console.log('[setup] done. Next: npm test');
