import type { ActorBehavior } from "@malleo/actors";

/**
 * Declares a behavior with its state and message types inferred from the handlers. Handlers run
 * one message at a time; the points between two calls are where an actor can be held, moved or
 * checkpointed (`isSafePoint` narrows them). State must be structured-cloneable (typed arrays,
 * Maps, Sets, Dates, plain objects): it is what migrates.
 */
export function defineBehavior<State, Message>(behavior: ActorBehavior<State, Message>): ActorBehavior<State, Message> {
  return behavior;
}
