/**
 * The layering holds: every import in lib/, constructs/ and bench/ points down (or stays inside its
 * layer), and no module imports itself back through others. Read off the sources, so a new back
 * edge fails here, naming the file and the import, before it becomes a cycle someone has to untangle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** Each layer and the layers it may import (besides itself). Lower layers come first. */
const LAYERS: Record<string, readonly string[]> = {
  'lib/util': [],
  'lib/model': ['lib/util'],
  'lib/contract': ['lib/model', 'lib/util'],
  'lib/topology': ['lib/contract', 'lib/model', 'lib/util'],
  'lib/render': ['lib/contract', 'lib/model', 'lib/util'],
  'lib/app': ['lib/contract', 'lib/model', 'lib/util'],
  'lib/dataplane': ['lib/contract', 'lib/model', 'lib/util'],
  'lib/synth': ['lib/render', 'lib/topology', 'lib/contract', 'lib/model', 'lib/util'],
  'lib/runtime': ['lib/render', 'lib/topology', 'lib/app', 'lib/contract', 'lib/model', 'lib/util'],
  'lib/cli': ['lib/runtime', 'lib/synth', 'lib/render', 'lib/topology', 'lib/app', 'lib/dataplane', 'lib/contract', 'lib/model', 'lib/util'],
  constructs: ['lib/synth', 'lib/model', 'lib/util'],
  bench: ['bench', 'constructs', 'lib'],
};

interface Edge { readonly from: string; readonly to: string; readonly line: number }

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(relative);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [relative] : [];
  });
}

function resolveImport(from: string, specifier: string): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  return [`${base}.ts`, `${base}/index.ts`, base].find((candidate) => fs.existsSync(path.join(ROOT, candidate)) && candidate.endsWith('.ts'));
}

/** Relative imports, `export ... from` and `require(...)` of TypeScript modules (type-only ones too: they couple layers as well). */
function edgesOf(file: string): Edge[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const edges: Edge[] = [];
  const pattern = /(?:from\s+|import\s+|require\()\s*'(\.{1,2}\/[^']+)'/g;
  for (const match of text.matchAll(pattern)) {
    const to = resolveImport(file, match[1]);
    if (to) edges.push({ from: file, to, line: text.slice(0, match.index).split('\n').length });
  }
  return edges;
}

function layerOf(file: string): string | undefined {
  return Object.keys(LAYERS).sort((a, b) => b.length - a.length).find((layer) => file === layer || file.startsWith(`${layer}/`));
}

const files = [...sourceFiles('lib'), ...sourceFiles('constructs'), ...sourceFiles('bench')];
const edges = files.flatMap(edgesOf);

describe('layers', () => {
  test('every source file belongs to a known layer', () => {
    expect(files.filter((file) => layerOf(file) === undefined)).toEqual([]);
  });

  test('every import points down or stays inside its layer', () => {
    const upward = edges.flatMap((edge) => {
      const from = layerOf(edge.from)!;
      const to = layerOf(edge.to);
      if (to === undefined) return [`${edge.from}:${edge.line} imports ${edge.to}, outside every layer (bench may not import test/)`];
      if (from === to || LAYERS[from].some((allowed) => to === allowed || to.startsWith(`${allowed}/`))) return [];
      return [`${edge.from}:${edge.line} (${from}) imports ${edge.to} (${to}); ${from} may import ${LAYERS[from].join(', ') || 'nothing else'}`];
    });
    expect(upward).toEqual([]);
  });

  test('no module imports itself back through others (no cycles)', () => {
    // Tarjan's strongly connected components over the module graph: any component of two or more is a cycle.
    const graph = new Map<string, string[]>(files.map((file) => [file, []]));
    for (const edge of edges) graph.get(edge.from)?.push(edge.to);
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    let counter = 0;
    const visit = (node: string): void => {
      index.set(node, counter);
      low.set(node, counter++);
      stack.push(node);
      onStack.add(node);
      for (const next of graph.get(node) ?? []) {
        if (!index.has(next)) {
          visit(next);
          low.set(node, Math.min(low.get(node)!, low.get(next)!));
        } else if (onStack.has(next)) {
          low.set(node, Math.min(low.get(node)!, index.get(next)!));
        }
      }
      if (low.get(node) === index.get(node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== node);
        if (component.length > 1) cycles.push(component.sort());
      }
    };
    for (const file of files) if (!index.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
