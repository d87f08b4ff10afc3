/**
 * Lets waiters go a batch per event-loop turn, first come first served. When hundreds of held playlist
 * requests become answerable at once, answering them all in one turn would keep every other request
 * waiting that long; between batches, the event loop reads and answers what arrived meanwhile.
 */
export class BatchedRelease {
  private readonly queue: (() => void)[] = [];
  private scheduled = false;

  /** @param batchSize waiters let go per turn */
  constructor(private readonly batchSize: number) {}

  /** Resolves on this waiter's turn. */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after the poll phase: requests that arrived are read before the next batch goes.
    setImmediate(() => {
      this.scheduled = false;
      for (const release of this.queue.splice(0, this.batchSize)) release();
      if (this.queue.length > 0) this.schedule();
    });
  }
}
