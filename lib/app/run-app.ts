/**
 * Runs a cdktf app the way `cdktf synth` does (a child process with CDKTF_OUTDIR set) and reads back
 * the livestack manifests it wrote, so the runtime acts on exactly what Terraform would deploy.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Manifest, MANIFEST_API_VERSION } from '../model/manifest';
import { loadManifest } from '../model/load-manifest';
import { MANIFEST_FILE } from '../contract/manifest-file';

export interface SynthesizedApp {
  readonly manifest: Manifest;
  /** Where cdk.tf.json and the manifests were written. */
  readonly outdir: string;
  /** Stack names, in the app's order. */
  readonly stacks: string[];
}

/** The app failed: its own message (a validation error, a TypeScript error), without the stack trace. */
export class AppSynthError extends Error {
  constructor(readonly appFile: string, readonly output: string) {
    super(`synthesizing ${appFile} failed:\n${output}`);
    this.name = 'AppSynthError';
  }
}

/**
 * Synthesize `appFile` (.ts through ts-node in transpile-only mode, or .js) into `outdir`
 * (default: a new temporary directory) and return the merged, checked manifest of its stacks.
 */
export async function synthesizeApp(appFile: string, outdir?: string): Promise<SynthesizedApp> {
  const app = path.resolve(appFile);
  if (!fs.existsSync(app)) throw new AppSynthError(appFile, `no such file: ${app}`);
  const out = path.resolve(outdir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-synth-')));
  const typescript = app.endsWith('.ts');
  const args = typescript ? ['-r', tsNodeRegister(appFile, app), app] : [app];
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, args, {
      env: { ...process.env, CDKTF_OUTDIR: out, ...(typescript ? tsNodeEnv(app) : {}) },
      maxBuffer: 64 * 1024 * 1024,
    }, (error, _stdout, stderr) => (error ? reject(new AppSynthError(appFile, conciseError(stderr || error.message))) : resolve()));
  });
  return readSynthesizedApp(out);
}

/**
 * Compiler options for an app with no tsconfig.json of its own: what a cdktf TypeScript project
 * declares. Without them ts-node falls back to its Node 16+ defaults (module NodeNext), which cannot
 * load a CommonJS app and fail with a raw TS5109 error about moduleResolution.
 */
const DEFAULT_APP_COMPILER_OPTIONS = {
  module: 'commonjs', moduleResolution: 'node', target: 'ES2022', lib: ['ES2022'], esModuleInterop: true, skipLibCheck: true,
} as const;

/** ts-node of the app's own project (its version, its TypeScript), else the one livestack was built with. */
function tsNodeRegister(appFile: string, app: string): string {
  for (const paths of [[path.dirname(app)], undefined]) {
    try {
      return require.resolve('ts-node/register/transpile-only', paths ? { paths } : undefined);
    } catch {
      // Not installed there: try the next place.
    }
  }
  throw new AppSynthError(appFile, `${appFile} is TypeScript, which livestack runs through ts-node, and ts-node is not installed in its project: run \`npm install --save-dev ts-node typescript\` in ${path.dirname(app)} (or give livestack the compiled .js app)`);
}

/** The app's tsconfig.json (as ts-node would find it), or livestack's defaults when it has none. */
function tsNodeEnv(app: string): NodeJS.ProcessEnv {
  if (process.env.TS_NODE_PROJECT || process.env.TS_NODE_COMPILER_OPTIONS) return {};
  const tsconfig = findTsconfig(app);
  if (tsconfig) return { TS_NODE_PROJECT: tsconfig };
  return { TS_NODE_SKIP_PROJECT: 'true', TS_NODE_COMPILER_OPTIONS: JSON.stringify(DEFAULT_APP_COMPILER_OPTIONS) };
}

/** Read the manifests of an already synthesized output directory (`cdktf synth` or `livestack synth`). */
export function readSynthesizedApp(outdir: string): SynthesizedApp {
  const cdktfManifest = path.join(outdir, 'manifest.json');
  if (!fs.existsSync(cdktfManifest)) throw new AppSynthError(outdir, `no ${cdktfManifest}: is this a cdktf output directory?`);
  const stacks = Object.keys((JSON.parse(fs.readFileSync(cdktfManifest, 'utf8')) as { stacks: Record<string, unknown> }).stacks);
  const accounts = stacks.flatMap((stack) => {
    const file = path.join(outdir, 'stacks', stack, MANIFEST_FILE);
    return fs.existsSync(file) ? loadManifest(fs.readFileSync(file, 'utf8'), file).accounts : [];
  });
  // Each stack's manifest passed on its own; together they must pass again (ports across stacks).
  const manifest = loadManifest({ apiVersion: MANIFEST_API_VERSION, accounts }, outdir);
  return { manifest, outdir, stacks };
}

/** The first lines of a Node error up to its stack trace: what the user needs to read. */
function conciseError(stderr: string): string {
  const lines = stderr.split('\n');
  const start = Math.max(0, lines.findIndex((l) => /(Error|error TS\d+)[:\s]/.test(l)));
  const kept: string[] = [];
  for (const line of lines.slice(start)) {
    if (/^\s+at /.test(line)) break;
    kept.push(line);
  }
  return kept.join('\n').trim() || stderr.trim();
}

function findTsconfig(from: string): string | undefined {
  for (let dir = path.dirname(from); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'tsconfig.json');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}
