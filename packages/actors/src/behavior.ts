// What an application supplies: a behavior per actor kind, registered by name in every theater.
// Handlers run one message at a time and synchronously, so the points between two handler
// calls are the only places an actor can be held, snapshotted or migrated.

export interface ActorContext {
  /** This actor's permanent name. */
  readonly self: string;
  /** Who sent the message being handled (null for external senders and `start`). */
  readonly sender: string | null;
  /**
   * The theater asked this actor to reach its safe point (a ready barrier or a migration): an
   * actor with work in flight (e.g. a fetch) should finish it and start nothing new until resumed.
   */
  readonly holdRequested: boolean;
  /** Sends `message` to the actor named `to`, wherever it lives now. Never blocks. */
  send(to: string, message: unknown): void;
  /** Delivers `message` to this actor itself after `delayMs`. Survives migration (delivered early on the target). */
  schedule(message: unknown, delayMs: number): void;
  log(fields: Record<string, unknown>): void;
}

export interface ActorBehavior<State = unknown, Message = unknown> {
  /** Builds the initial state from the spawn arguments. Must not send: neighbours may not exist yet. */
  init(args: unknown, self: string): State;
  /** Runs once after the whole spawn batch exists (never again after a migration). */
  start?(state: State, context: ActorContext): State;
  /** Handles one message and returns the next state (the same object may be returned). */
  receive(state: State, message: Message, context: ActorContext): State;
  /**
   * Whether the actor is at an application safe point. Defaults to always: a handler boundary.
   * While it answers false a prepared actor keeps processing messages until it reaches one.
   */
  isSafePoint?(state: State): boolean;
  /** A monotonic progress figure (e.g. the iteration) reported to the Mediator, throttled. */
  progress?(state: State): number | undefined;
}

/** Behaviors by name. Method parameters are bivariant, so any ActorBehavior<S, M> fits here. */
export type BehaviorRegistry = Readonly<Record<string, ActorBehavior<unknown, unknown>>>;
