/** "Results wait": listeners called every time, and one-shot waiters for `whenReady()`. */
export class ReadySignal {
  #listeners: (() => void)[] = [];
  #waiters: (() => void)[] = [];

  /** Calls `fn` on every signal; returns the unsubscribe function. */
  on(fn: () => void): () => void {
    this.#listeners.push(fn);
    return () => void (this.#listeners = this.#listeners.filter((f) => f !== fn));
  }

  /** Resolves at the next signal. */
  next(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  fire(): void {
    for (const w of this.#waiters.splice(0)) w();
    for (const fn of this.#listeners) fn();
  }
}
