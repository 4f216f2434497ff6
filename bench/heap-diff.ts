// What grew between two V8 heap snapshots (.heapsnapshot, as --heapsnapshot-signal writes them):
// live objects by kind (an object's constructor name, else the node type), the largest growths
// first. Used by bench/soak.ts --snapshots; on its own: tsx bench/heap-diff.ts <before> <after>
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Count and bytes (self size) of every kind of node in the snapshot. */
export function heapByKind(file: string): Map<string, { count: number; bytes: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const types = s.snapshot.meta.node_types[0];
  const kinds = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    const t = types[s.nodes[i + type]!]!;
    // Strings and code by their type (their "names" are their contents); objects by constructor.
    const kind = t === 'object' || t === 'closure' ? `${t} ${s.strings[s.nodes[i + name]!]}` : t;
    const k = kinds.get(kind) ?? { count: 0, bytes: 0 };
    k.count++;
    k.bytes += s.nodes[i + size]!;
    kinds.set(kind, k);
  }
  return kinds;
}

/** The `top` kinds that grew most in bytes from `before` to `after`. */
export function heapGrowth(before: string, after: string, top = 12): Array<Record<string, string | number>> {
  const a = heapByKind(before);
  const b = heapByKind(after);
  return [...b].map(([kind, v]) => {
    const was = a.get(kind) ?? { count: 0, bytes: 0 };
    return { kind: kind.slice(0, 60), count: `${was.count} → ${v.count}`, 'KiB grown': Math.round((v.bytes - was.bytes) / 1024) };
  }).sort((x, y) => (y['KiB grown'] as number) - (x['KiB grown'] as number)).slice(0, top);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [before, after] = process.argv.slice(2);
  if (!before || !after) throw new Error('usage: tsx bench/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot>');
  console.table(heapGrowth(before, after));
}
