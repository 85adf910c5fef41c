/**
 * Serialises what holds and resumes actors per VM: an operation's ready barrier and resume, a
 * checkpoint's cut and a restore take a VM exclusively. Without it a checkpoint's resume could
 * let go of actors an operation's ready barrier had just held (both run in the leader worker).
 * Migrations take it shared: the moves of a live Transfer run several at once on one VM (each
 * holds only its own actors), but never beside a checkpoint's cut or a barrier.
 */
interface Waiter {
  shared: boolean;
  grant: () => void;
}

/** A FIFO reader-writer lock: a shared request behind a waiting exclusive one waits its turn. */
class VmLock {
  private sharedHolders = 0;
  private exclusive = false;
  private readonly queue: Waiter[] = [];

  get idle(): boolean {
    return this.sharedHolders === 0 && !this.exclusive && this.queue.length === 0;
  }

  acquire(shared: boolean): Promise<() => void> {
    return new Promise((resolve) => {
      this.queue.push({
        shared,
        grant: () => {
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            if (shared) this.sharedHolders--;
            else this.exclusive = false;
            this.pump();
          });
        },
      });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const free = next.shared ? !this.exclusive : !this.exclusive && this.sharedHolders === 0;
      if (!free) return;
      this.queue.shift();
      if (next.shared) this.sharedHolders++;
      else this.exclusive = true;
      next.grant();
    }
  }
}

export class ActorControl {
  private readonly locks = new Map<string, VmLock>();

  /**
   * Runs `work` holding every VM in `vmIds` (taken in sorted order, so two callers cannot
   * deadlock): exclusively, or with `shared` beside other shared holders.
   */
  async withVms<T>(vmIds: Iterable<string>, work: () => Promise<T>, opts: { shared?: boolean } = {}): Promise<T> {
    const ids = [...new Set(vmIds)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const id of ids) {
        let lock = this.locks.get(id);
        if (!lock) this.locks.set(id, (lock = new VmLock()));
        releases.push(await lock.acquire(opts.shared === true));
      }
      return await work();
    } finally {
      for (const release of releases.reverse()) release();
      for (const id of ids) if (this.locks.get(id)?.idle) this.locks.delete(id);
    }
  }
}
