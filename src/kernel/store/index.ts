/** Store factory: validates the store kind x indexing matrix and builds the store. */
import type { Cell } from '../cell/cell.js';
import type { Tree } from '../tree.js';
import { invalidStore } from '../../errors.js';
import { ArrayStore } from './array.js';
import { HashStore } from './hash.js';
import { ListStore } from './list.js';
import { OctreeStore } from './octree.js';
import { QueueStore } from './queue.js';
import { RbTreeStore } from './rbtree.js';
import { compareCellNames, compareKeys, type ChildStore, type Indexing, type OrderFn, type StoreKind, type StoreOptions } from './types.js';

export * from './types.js';
export { ArrayStore, HashStore, ListStore, OctreeStore, QueueStore, RbTreeStore };

/** Which indexings each store kind supports (the first is its default). */
export const STORE_MATRIX: Readonly<Record<StoreKind, readonly Indexing[]>> = {
  list: ['insertion', 'name', 'comparator', 'hash', 'function'],
  array: ['insertion', 'name', 'comparator', 'hash', 'function'],
  queue: ['insertion'],
  rbtree: ['name', 'comparator', 'hash', 'function'],
  hash: ['name', 'insertion'],
  octree: ['function'],
};

const byName: OrderFn = (a, _ka, b) => compareCellNames(a, b);
const byHash: OrderFn = (a, ka, b, kb) => (ka as number) - (kb as number) || compareCellNames(a, b);
const byKey: OrderFn = (_a, ka, _b, kb) => compareKeys(ka, kb);

function orderFor(indexing: Indexing, options: StoreOptions): OrderFn | null {
  switch (indexing) {
    case 'insertion':
      return null;
    case 'name':
      return byName;
    case 'comparator': {
      const cmp = options.compare!;
      return (a, _ka, b) => cmp(a, b);
    }
    case 'hash':
      return byHash;
    case 'function':
      return byKey;
  }
}

/** Validate a store request; throws ERR_INVALID_STORE. Returns the indexing to use. */
export function checkStore(kind: unknown, indexing: unknown, options: StoreOptions): Indexing {
  if (typeof kind !== 'string' || !Object.hasOwn(STORE_MATRIX, kind)) {
    throw invalidStore(`unknown store kind ${JSON.stringify(kind)} (one of ${Object.keys(STORE_MATRIX).join(', ')})`);
  }
  const allowed = STORE_MATRIX[kind as StoreKind];
  const ix = (indexing ?? allowed[0]) as Indexing;
  if (!allowed.includes(ix)) throw invalidStore(`a ${kind} store supports ${allowed.join(', ')} indexing, not ${JSON.stringify(indexing)}`);
  if (ix === 'comparator' && typeof options.compare !== 'function') throw invalidStore("'comparator' indexing needs a compare function");
  if (ix === 'function' && typeof options.key !== 'function') throw invalidStore("'function' indexing needs a key function");
  if (kind === 'octree' && options.bounds !== undefined) {
    const b = options.bounds;
    if (!b || !Array.isArray(b.center) || b.center.length !== 3 || !(b.half > 0)) throw invalidStore('octree bounds need a center [x, y, z] and a positive half');
  }
  return ix;
}

export function createStore(kind: StoreKind, indexing: Indexing, options: StoreOptions, owner: Cell, rt: Tree): ChildStore {
  const order = orderFor(indexing, options);
  const unique = indexing === 'name' || kind === 'hash';
  switch (kind) {
    case 'list':
      return new ListStore(owner, rt, indexing, order, options, unique);
    case 'array':
      return new ArrayStore(owner, rt, indexing, order, options, unique);
    case 'queue':
      return new QueueStore(owner, rt, indexing, order, options, unique);
    case 'rbtree':
      return new RbTreeStore(owner, rt, indexing, order, options, unique);
    case 'hash':
      return new HashStore(owner, rt, indexing, order, options, unique);
    case 'octree':
      return new OctreeStore(owner, rt, indexing, order, options, unique);
  }
}
