#!/usr/bin/env node
// `npm run setup`: installs the npm dependencies, makes sure WebGPU has a Vulkan driver
// to run on, and builds dist/. Safe to run again: each step checks before it acts.
//
// Why the driver step: without a GPU, Dawn (the WebGPU implementation behind the `webgpu`
// package) needs a software Vulkan driver. Debian 12's own Mesa 22 lavapipe is rejected by
// Dawn; Mesa >= 25 from bookworm-backports works. See README "GPU backends".
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';

function run(cmd) {
  console.log(`[setup] $ ${cmd}`);
  execSync(cmd, { stdio: 'inherit' });
}

function quiet(cmd) {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

// 1. npm dependencies (reproducible when the lock file exists).
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
  if (isDebian12) {
    const src = '/etc/apt/sources.list.d/bookworm-backports.sources';
    // The mirror the machine already uses (deb822 `URIs:` or one-line `deb URL` entries).
    const mirror =
      quiet("grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -oE 'https?://[^ ]+/debian/?$|https?://[^ ]+/debian ' | grep -v security | head -n1 | tr -d ' '") ||
      'http://deb.debian.org/debian';
    if (!existsSync(src)) {
      cmds.push(`printf 'Types: deb\\nURIs: ${mirror}\\nSuites: bookworm-backports\\nComponents: main\\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\\n' > ${src}`);
    }
    cmds.push('apt-get update');
    cmds.push('DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers');
  } else {
    cmds.push('apt-get update');
    cmds.push('DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1');
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    for (const c of cmds) run(c);
  } else {
    console.log('[setup] No usable Vulkan driver. Not root, so not installing it. Run as root:');
    for (const c of cmds) console.log(`  sudo sh -c "${c.replace(/"/g, '\\"')}"`);
    console.log('[setup] Until then spikesift uses its CPU backend (same results, chosen automatically).');
  }
}

// 3. Build dist/ (the package entry and the `spikesift` command).
run('npm run build');
console.log('[setup] done. Next: npm test');
