// An image's flat entry list (sorted paths, as the back end reads them from the packed file) turned
// into a folder tree, and the rows a tree view shows for a set of open folders. Pure functions.
import type { ImageEntryInfo } from '../../../electron/common/types';

export interface TreeNode {
  name: string;
  path: string;
  entry: ImageEntryInfo;
  children: TreeNode[];
  /** Bytes of the regular files below (a file: its own size). */
  bytes: number;
}

export interface TreeRow {
  node: TreeNode;
  depth: number;
  expanded: boolean;
}

const isDir = (n: TreeNode) => n.entry.type === 'dir';

/** The tree under "/" (folders an entry implies but the list lacks are made up as dirs). */
export function buildTree(entries: ImageEntryInfo[]): TreeNode {
  const root: TreeNode = {
    name: '/',
    path: '/',
    entry: { path: '/', type: 'dir', mode: 0o755 },
    children: [],
    bytes: 0,
  };
  const byPath = new Map<string, TreeNode>([['/', root]]);
  const nodeFor = (path: string): TreeNode => {
    const known = byPath.get(path);
    if (known) return known;
    const cut = path.lastIndexOf('/');
    const parent = nodeFor(cut <= 0 ? '/' : path.slice(0, cut));
    const node: TreeNode = {
      name: path.slice(cut + 1),
      path,
      entry: { path, type: 'dir', mode: 0o755 },
      children: [],
      bytes: 0,
    };
    parent.children.push(node);
    byPath.set(path, node);
    return node;
  };
  for (const entry of entries) {
    if (entry.path === '/') continue;
    nodeFor(entry.path).entry = entry;
  }
  const finish = (node: TreeNode): number => {
    node.children.sort((a, b) => Number(isDir(b)) - Number(isDir(a)) || a.name.localeCompare(b.name));
    node.bytes = node.entry.type === 'file' ? (node.entry.size ?? 0) : 0;
    for (const child of node.children) node.bytes += finish(child);
    return node.bytes;
  };
  finish(root);
  return root;
}

/** Keeps the nodes `keep` accepts and the folders on the way to them; null when nothing is left. */
export function pruneTree(node: TreeNode, keep: (n: TreeNode) => boolean): TreeNode | null {
  const children = node.children.map((c) => pruneTree(c, keep)).filter((c): c is TreeNode => c !== null);
  if (children.length === 0 && !keep(node)) return null;
  return { ...node, children };
}

/** The rows on screen: the children of open folders, depth first. */
export function visibleRows(root: TreeNode, open: ReadonlySet<string>, depth = 0): TreeRow[] {
  const rows: TreeRow[] = [];
  for (const node of root.children) {
    const expanded = isDir(node) && open.has(node.path);
    rows.push({ node, depth, expanded });
    if (expanded) rows.push(...visibleRows(node, open, depth + 1));
  }
  return rows;
}

/** Every folder path in the tree (to open them all, e.g. while filtering). */
export function folderPaths(root: TreeNode): string[] {
  return root.children.filter(isDir).flatMap((c) => [c.path, ...folderPaths(c)]);
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
