/**
 * Serialises what holds and resumes actors per VM: an operation's ready barrier, resume and
 * transfer, a checkpoint's cut and a restore. Without it a checkpoint's resume could let go of
 * actors an operation's ready barrier had just held (both run in the leader worker).
 */
export class ActorControl {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` holding every VM in `vmIds` (taken in sorted order, so two callers cannot deadlock). */
  async withVms<T>(vmIds: Iterable<string>, work: () => Promise<T>): Promise<T> {
    const ids = [...new Set(vmIds)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const id of ids) releases.push(await this.take(id));
      return await work();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private async take(vmId: string): Promise<() => void> {
    const previous = this.tails.get(vmId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(vmId, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(vmId) === tail) this.tails.delete(vmId);
    };
  }
}
