/**
 * The multi-host test rig from TypeScript: the jest suites and the benchmarks drive the very scripts an
 * operator runs by hand (scripts/rig/up.sh, down.sh, cut.sh, restore.sh, status.sh), and get a Docker
 * Engine client per node.
 *
 * ```ts
 * const rig = await startSwarmRig({ images: ['livestack/runtime:0.1.0'] });
 * await rig.manager.docker.createService({ ... });           // every node is a manager; this is node1
 * await fetch(`http://${rig.nodes[2].address}:8000/`);        // every node has its own address
 * await rig.cut(rig.nodes[1], 'link');                        // a lost host ...
 * await rig.restore(rig.nodes[1]);                            // ... back
 * await rig.down();
 * ```
 *
 * This module imports nothing from livestack: tests and benches can both use it.
 */
import { execFile, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import Docker from 'dockerode';

const SCRIPTS = __dirname;

/** Names the rig's scripts give what they create (scripts/rig/common.sh): every one starts with "lsrig". */
export const RIG_NAMES = {
  prefix: 'lsrig',
  bridge: 'lsrig0',
  /** Sockets, pid files and exec roots of the nodes. */
  runDir: '/run/lsrig',
  /** Default data root of the nodes and parent of the shared directory (LIVESTACK_RIG_ROOT). */
  root: '/var/lib/livestack-rig',
  /** dockerd logs, nN.log (kept after down, for post-mortems). */
  logDir: '/var/log/livestack-rig',
} as const;

export interface SwarmRigOptions {
  /** Docker hosts in the swarm, 1-9. @default 3 */
  readonly nodes?: number;
  /** Images loaded into every node (each must exist on the host's Docker). @default - livestack/runtime:<package version> */
  readonly images?: readonly string[];
  /**
   * Swarm dispatcher heartbeat: a node is marked down after about three missed beats, so it bounds how
   * fast the tasks of a lost host move elsewhere.
   * @default '5s' (Docker's own default)
   */
  readonly heartbeat?: string;
  /** Bound on `up.sh` (image loads included). @default 180_000 */
  readonly timeoutMs?: number;
}

export interface SwarmRigNode {
  /** `node1`, `node2`, ...: also the node's hostname and its `livestack.rig.node` label. */
  readonly name: string;
  /** 1-based. */
  readonly index: number;
  /** The node's own address on the rig's bridge, reachable from the root namespace. */
  readonly address: string;
  readonly socketPath: string;
  /** A client of this node's Docker daemon. */
  readonly docker: Docker;
}

export type CutMode = 'link' | 'power';

export interface SwarmRig {
  readonly nodes: readonly SwarmRigNode[];
  /**
   * The node that initialised the swarm (node1). Every node is a manager (three keep a raft quorum with
   * one lost), so any node answers for the swarm: use `managerOtherThan` while a node is cut off.
   */
  readonly manager: SwarmRigNode;
  /** A manager that is not `node`: the one to ask while `node` is cut off. */
  managerOtherThan(node: SwarmRigNode): SwarmRigNode;
  /** One host directory every node's containers can bind-mount at this same path (the shared filesystem). */
  readonly sharedDir: string;
  /** How long `up.sh` took. */
  readonly upSeconds: number;
  /** What `up.sh` printed on stderr, one line per step with its time. */
  readonly upLog: string;
  /**
   * Cuts a node off: `link` takes its veth down (a partition: its containers keep running, unreachable),
   * `power` kills everything it runs at once (its data root stays).
   */
  cut(node: SwarmRigNode, mode: CutMode): Promise<void>;
  /** Brings a cut node back (link up, daemon restarted on its data root); resolves once every node is Ready. */
  restore(node: SwarmRigNode): Promise<void>;
  /** The swarm node id of a rig node. */
  swarmNodeId(node: SwarmRigNode): Promise<string>;
  /** The rig node a swarm node id belongs to. */
  nodeOf(swarmNodeId: string): Promise<SwarmRigNode | undefined>;
  /** What `status.sh` prints. */
  status(): Promise<string>;
  /** The last lines of a node's dockerd log. */
  daemonLog(node: SwarmRigNode, lines?: number): string;
  /**
   * Removes every daemon, namespace, veth, bridge, iptables rule and data root of the rig.
   * @param options.keepImageCache keep the saved image archives, so the next up only loads them.
   */
  down(options?: { keepImageCache?: boolean }): Promise<void>;
}

/** A rig script failed: which one, its exit, and the end of what it printed. */
export class RigScriptError extends Error {
  constructor(readonly script: string, readonly exitCode: number | null, readonly output: string) {
    super(`scripts/rig/${script} failed (exit ${exitCode ?? 'killed: timeout'}):\n${output.split('\n').slice(-30).join('\n')}`);
    this.name = 'RigScriptError';
  }
}

interface ScriptRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs one rig script; rejects with its output when it fails or outlives `timeoutMs`. */
export function runRigScript(script: string, args: readonly string[] = [], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ScriptRun> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile('bash', [path.join(SCRIPTS, script), ...args], {
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 120_000,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      if (error) reject(new RigScriptError(script, typeof error.code === 'number' ? error.code : null, `${stderr}${stdout}`));
      else resolve({ stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    });
  });
}

/** Brings the rig up (or completes a half-up one) and returns it. */
export async function startSwarmRig(options: SwarmRigOptions = {}): Promise<SwarmRig> {
  const env: NodeJS.ProcessEnv = {
    LIVESTACK_RIG_NODES: String(options.nodes ?? 3),
    LIVESTACK_RIG_HEARTBEAT: options.heartbeat ?? '5s',
    ...(options.images ? { LIVESTACK_RIG_IMAGES: options.images.join(' ') } : {}),
  };
  const up = await runRigScript('up.sh', [], { env, timeoutMs: options.timeoutMs ?? 180_000 });
  const nodes = parseNodes(up.stdout);
  const shared = /^shared (\S+)$/m.exec(up.stdout)?.[1];
  if (nodes.length === 0 || !shared) throw new RigScriptError('up.sh', 0, `it printed no node or shared directory:\n${up.stdout}`);
  return rigOf(nodes, shared, up, env);
}

/** `nodeN ADDRESS unix://SOCKET` lines of up.sh's stdout. */
function parseNodes(stdout: string): SwarmRigNode[] {
  return [...stdout.matchAll(/^node(\d) (\S+) unix:\/\/(\S+)$/gm)].map(([, index, address, socketPath]) => ({
    name: `node${index}`,
    index: Number(index),
    address,
    socketPath,
    docker: new Docker({ socketPath }),
  }));
}

function rigOf(nodes: SwarmRigNode[], sharedDir: string, up: ScriptRun, env: NodeJS.ProcessEnv): SwarmRig {
  const swarmNodeId = async (node: SwarmRigNode) => {
    const info = await node.docker.info() as { Swarm?: { NodeID?: string } };
    if (!info.Swarm?.NodeID) throw new Error(`${node.name} (${node.socketPath}) is not in a swarm`);
    return info.Swarm.NodeID;
  };
  const ids = new Map<string, SwarmRigNode>();
  return {
    nodes,
    manager: nodes[0],
    managerOtherThan(node) {
      const other = nodes.find((n) => n.index !== node.index);
      if (!other) throw new Error(`the rig has no manager other than ${node.name}: it has ${nodes.length} node(s)`);
      return other;
    },
    sharedDir,
    upSeconds: up.seconds,
    upLog: up.stderr,
    async cut(node, mode) {
      await runRigScript('cut.sh', [String(node.index), `--${mode}`], { env });
    },
    async restore(node) {
      await runRigScript('restore.sh', [String(node.index)], { env, timeoutMs: 180_000 });
      // A node restored after a power cut may have joined anew: forget the ids seen so far.
      ids.clear();
    },
    swarmNodeId,
    async nodeOf(id) {
      if (ids.size === 0) {
        for (const node of nodes) {
          const nodeId = await swarmNodeId(node).catch(() => undefined);
          if (nodeId) ids.set(nodeId, node);
        }
      }
      return ids.get(id);
    },
    async status() {
      // status.sh exits 3 for a partly-up rig: its output is the answer either way.
      const result = spawnSync('bash', [path.join(SCRIPTS, 'status.sh')], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
      return `${result.stdout}${result.stderr}`;
    },
    daemonLog(node, lines = 30) {
      const result = spawnSync('tail', ['-n', String(lines), path.join(RIG_NAMES.logDir, `n${node.index}.log`)], { encoding: 'utf8' });
      return result.stdout || result.stderr;
    },
    async down(options = {}) {
      await runRigScript('down.sh', options.keepImageCache ? ['--keep-image-cache'] : [], { env, timeoutMs: 120_000 });
    },
  };
}

/** Tears down whatever rig exists (a crashed run's included), without a handle on it. */
export async function downSwarmRig(options: { keepImageCache?: boolean } = {}): Promise<void> {
  await runRigScript('down.sh', options.keepImageCache ? ['--keep-image-cache'] : [], { timeoutMs: 120_000 });
}
