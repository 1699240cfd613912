/** Doubly linked list store: O(1) append/prepend; sorted inserts scan back from the tail. */
import type { Cell } from '../cell/cell.js';
import { ChildStore, type Key } from './types.js';

class ListNode {
  prev: ListNode | null = null;
  next: ListNode | null = null;
  constructor(
    readonly cell: Cell,
    readonly key: Key,
  ) {}
}

export class ListStore extends ChildStore {
  readonly kind = 'list' as const;
  private head: ListNode | null = null;
  private tail: ListNode | null = null;
  private n = 0;

  get total(): number {
    return this.n;
  }

  insert(cell: Cell, key: Key, prepend: boolean): void {
    const node = new ListNode(cell, key);
    const order = this.order;
    let after: ListNode | null;
    if (order === null) after = prepend ? null : this.tail;
    else {
      after = this.tail;
      while (after !== null && order(after.cell, after.key, cell, key) > 0) after = after.prev;
    }
    node.prev = after;
    node.next = after === null ? this.head : after.next;
    if (node.next !== null) node.next.prev = node;
    else this.tail = node;
    if (after !== null) after.next = node;
    else this.head = node;
    this.n++;
  }

  remove(cell: Cell): boolean {
    for (let x = this.head; x !== null; x = x.next) {
      if (x.cell !== cell) continue;
      if (x.prev !== null) x.prev.next = x.next;
      else this.head = x.next;
      if (x.next !== null) x.next.prev = x.prev;
      else this.tail = x.prev;
      this.n--;
      return true;
    }
    return false;
  }

  forEach(fn: (cell: Cell) => boolean | void): void {
    for (let x = this.head; x !== null; x = x.next) if (fn(x.cell) === true) return;
  }
}
