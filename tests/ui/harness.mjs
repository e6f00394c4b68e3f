// What the browser tests share: the skip rules (no Chromium, no playwright-core, an old
// Node.js: exit 77, ctest's skip), `wangge demo` on an ephemeral loopback port with its
// tokens, Debian's Chromium launched headless, a page watcher for requests that leave the
// server and for console errors, and numbered steps.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SKIP = 77;

export async function setUp(usage) {
  const [binary, artifacts] = process.argv.slice(2);
  if (!binary || !artifacts) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  const chromiumPath = process.env.WANGGE_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromiumPath)) {
    console.log(`SKIP: no Chromium at ${chromiumPath} (apt-get install chromium; scripts/deps.sh installs it)`);
    process.exit(SKIP);
  }
  if (Number(process.versions.node.split('.')[0]) < 20) {
    console.log(`SKIP: playwright-core needs Node.js 20 or later; this is ${process.version}`);
    process.exit(SKIP);
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    console.log('SKIP: playwright-core is not installed (npm ci --prefix tests/ui; scripts/test.sh runs it)');
    process.exit(SKIP);
  }
  mkdirSync(artifacts, { recursive: true });
  return { binary, artifacts, chromium, chromiumPath };
}

// `wangge demo` (a generated town-year with its geography and photos) on 127.0.0.1.
export async function startDemo(binary) {
  const scratch = mkdtempSync(join(tmpdir(), 'wangge-ui-'));
  const demo = spawn(binary, ['demo', '--data', join(scratch, 'data'), '--listen', '127.0.0.1:0'],
                     { stdio: ['ignore', 'pipe', 'pipe'] });
  process.on('exit', () => { demo.kill('SIGKILL'); rmSync(scratch, { recursive: true, force: true }); });
  const banner = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`wangge demo did not start in 120 s:\n${out}`)), 120_000);
    demo.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('/metrics\n')) { clearTimeout(timer); resolve(out); }
    });
    demo.stderr.resume();
    demo.on('exit', (code) => reject(new Error(`wangge demo exited (${code}):\n${out}`)));
  });
  const base = banner.match(/Serving (http:\/\/127\.0\.0\.1:\d+)/)[1];
  const tokenOf = (role) => banner.match(new RegExp(`^${role}\\s+(\\S+)\\s+(\\S+)$`, 'm'));
  const tokens = {}, actors = {};
  for (const role of ['worker', 'handler', 'supervisor', 'auditor', 'admin']) {
    const m = tokenOf(role);
    if (m) { actors[role] = m[1]; tokens[role] = m[2]; }
  }
  return { base, tokens, actors, demo };
}

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export function launch(chromium, chromiumPath) {
  return chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
}

// Collects requests that leave `base` and console or page errors.
export function watcher(base) {
  const foreign = [], problems = [];
  const watch = (page) => {
    // blob: URLs of the page's own origin (photos fetched with the token) stay on the machine.
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith(`blob:${base}/`) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
    return page;
  };
  return { foreign, problems, watch };
}

// step(name, fn) runs and numbers one check; step.count() is how many passed.
export function stepper() {
  const steps = [];
  const step = async (name, fn) => {
    const started = Date.now();
    await fn();
    steps.push(name);
    console.log(`ok ${steps.length} - ${name} (${Date.now() - started} ms)`);
  };
  step.count = () => steps.length;
  return step;
}
