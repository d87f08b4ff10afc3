/**
 * The runtime image of a workload: used when the engine has it, else built from this package's
 * images/Dockerfile (context: the package root, filtered by .dockerignore; dist/ must be compiled).
 * A build that fails is a terminal error saying how to build the image by hand: retrying would fail
 * the same way until someone acts.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { TerminalError } from '../errors';
import { engineMessage, engineStatus } from './docker-client';

/**
 * The build context: what images/Dockerfile copies, as .dockerignore lets it through for the docker
 * CLI (dockerode applies .dockerignore to absolute paths and so drops everything; the list is made here).
 */
const CONTEXT_FOLDERS = ['bin', 'dist', 'images', 'lib/dataplane/ingest/native'];
/** The native helper's build script, which the Dockerfile's build stage runs as a host does. */
const CONTEXT_FILES = ['package.json', 'scripts/build-native.sh'];
const SKIPPED_NAMES = new Set(['node_modules', '.git']);
const LOCKFILE = 'package-lock.json';
/**
 * npm never packs a root package-lock.json, so `npm pack` ships a copy here (the prepack script); the
 * Dockerfile installs from the root one when the context has it, else from this one.
 */
const PACKED_LOCKFILE = 'images/package-lock.packed.json';

/** Relative paths of every file of the build context, with one lockfile (as .dockerignore keeps it). */
export function buildContextFiles(packageRoot: string): string[] {
  const files = [...CONTEXT_FILES];
  const rootLockfile = fs.existsSync(path.join(packageRoot, LOCKFILE));
  if (rootLockfile) files.push(LOCKFILE);
  else if (!fs.existsSync(path.join(packageRoot, PACKED_LOCKFILE))) {
    throw new TerminalError('runtime image', `${packageRoot} has neither ${LOCKFILE} nor ${PACKED_LOCKFILE}, and the image installs its dependencies from one (a livestack package packed without its prepack script?)`);
  }
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(packageRoot, relative), { withFileTypes: true })) {
      if (SKIPPED_NAMES.has(entry.name) || entry.name.startsWith('.tsbuildinfo')) continue;
      const child = path.join(relative, entry.name);
      if (child === PACKED_LOCKFILE && rootLockfile) continue;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) files.push(child);
    }
  };
  for (const folder of CONTEXT_FOLDERS) walk(folder);
  return files.sort();
}

/** A tar stream of the build context (system tar: no extra dependency for a one-off build). */
function contextTar(packageRoot: string): { stream: NodeJS.ReadableStream; done: Promise<void>; stop(): void } {
  const tar = spawn('tar', ['-c', '-C', packageRoot, '--null', '-T', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  tar.stdin.end(`${buildContextFiles(packageRoot).join('\0')}\0`);
  const done = new Promise<void>((resolve, reject) => {
    tar.once('error', (error) => reject(new Error(`tar: ${error.message}`)));
    tar.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar of the build context failed: ${stderr.trim()}`))));
  });
  return { stream: tar.stdout, done, stop: () => tar.kill() };
}

/** The image livestack's own Docker set-up builds where no registry is reachable (scripts/docker-env.sh). */
const LOCAL_BASE_IMAGE = 'livestack/base:bookworm-node20';

export interface ImageBuildContext {
  /** The livestack package root (holding images/Dockerfile and the compiled dist/). */
  readonly packageRoot: string;
  /** Progress lines ("Built image ..."), never secrets. */
  readonly log?: (line: string) => void;
}

/** Label of a runtime image built from livestack's Dockerfile: the base image it was built on. */
export const BASE_IMAGE_LABEL = 'livestack.base-image';

/** The image's labels, or undefined when the engine does not have it. */
async function imageLabels(docker: Docker, image: string): Promise<Record<string, string> | undefined> {
  try {
    return (await docker.getImage(image).inspect()).Config?.Labels ?? {};
  } catch (error) {
    if (engineStatus(error) === 404) return undefined;
    throw new Error(`image ${image}: ${engineMessage(error)}`);
  }
}

export async function imageExists(docker: Docker, image: string): Promise<boolean> {
  return (await imageLabels(docker, image)) !== undefined;
}

/**
 * Make sure `image` exists on the engine as the app wants it: with `build`, built from
 * images/Dockerfile on `build.baseImage` (again when the engine's copy was built on another base, as
 * Terraform rebuilds a docker_image whose build arguments changed); without, as it is (never built).
 */
export async function ensureImage(docker: Docker, image: string, build: { readonly baseImage: string } | undefined, context: ImageBuildContext): Promise<void> {
  const labels = await imageLabels(docker, image);
  if (!build) {
    if (labels) return;
    throw new TerminalError(`image ${image}`, 'it is not on the Docker engine, and the app uses it as it is (RuntimeImage.fromName): pull or load it there, or use RuntimeImage.build()');
  }
  if (labels && labels[BASE_IMAGE_LABEL] === build.baseImage) return;
  const cli = path.join(context.packageRoot, 'dist', 'lib', 'cli', 'main.js');
  if (!fs.existsSync(cli)) {
    throw new TerminalError(`image ${image}`, `it is missing and cannot be built: ${cli} does not exist (run \`npm run build\` first)`);
  }
  const why = labels ? `it was built on ${labels[BASE_IMAGE_LABEL] ?? 'another base'}` : 'it is missing';
  context.log?.(`Building image ${image} from images/Dockerfile on ${build.baseImage} (${why})`);
  const started = Date.now();
  try {
    await buildImage(docker, image, build.baseImage, context);
  } catch (error) {
    throw new TerminalError(`image ${image}`, `${why} and building it from images/Dockerfile on ${build.baseImage} failed: ${(error as Error).message}. ${await howToBuild(docker, image, context.packageRoot)}`);
  }
  context.log?.(`Built image ${image} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function buildImage(docker: Docker, image: string, baseImage: string, context: ImageBuildContext): Promise<void> {
  const tar = contextTar(context.packageRoot);
  const stream = await docker.buildImage(
    tar.stream,
    {
      t: image,
      dockerfile: 'images/Dockerfile',
      // A failed step must not leave its intermediate container behind.
      forcerm: true,
      // images/Dockerfile labels the image with this argument (BASE_IMAGE_LABEL).
      buildargs: { BASE_IMAGE: baseImage },
    },
  );
  const output = await new Promise<{ stream?: string; error?: string }[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, result: { stream?: string; error?: string }[]) => (error ? reject(error) : resolve(result)));
  }).catch((error: Error) => {
    tar.stop();
    throw error;
  });
  const failure = output.find((item) => item.error);
  if (failure) {
    // The engine may have stopped reading the context: tar must not wait on a full pipe forever.
    tar.stop();
    const tail = output.flatMap((item) => (item.stream ?? '').split('\n')).filter((line) => line.trim() !== '').slice(-5);
    throw new Error(`${failure.error!.trim()}${tail.length > 0 ? ` (last output: ${tail.join(' | ')})` : ''}`);
  }
  await tar.done;
  if (!(await imageExists(docker, image))) throw new Error('the build ended without producing the image');
}

async function howToBuild(docker: Docker, image: string, packageRoot: string): Promise<string> {
  const localBase = await imageExists(docker, LOCAL_BASE_IMAGE).catch(() => false);
  const base = localBase
    ? `set LIVESTACK_BASE_IMAGE=${LOCAL_BASE_IMAGE} (it exists on this engine; it is read when the app is synthesized) or pass RuntimeImage.build({ baseImage }) in the app, and apply again, or `
    : 'where no registry is reachable, run `bash scripts/docker-env.sh` (builds a Debian + Node 20 base with debootstrap and this image), or ';
  return `Build it yourself: ${base}run \`docker build --build-arg BASE_IMAGE=<a Node 20 Debian image> -f images/Dockerfile -t ${image} .\` in the livestack package (${packageRoot}; in a checkout, \`npm run build\` first).`;
}
