import type { ActorBehavior, BehaviorRegistry } from "./behavior";

/** Keeps every message it receives, in arrival order: a probe for delivery and forwarding checks. */
export interface RecorderState {
  received: Array<{ from: string | null; body: unknown }>;
}

export const RECORDER_BEHAVIOR = "malleo.recorder";

export const recorderBehavior: ActorBehavior<RecorderState, unknown> = {
  init: () => ({ received: [] }),
  receive(state, message, context) {
    state.received.push({ from: context.sender, body: message });
    return state;
  },
  progress: (state) => state.received.length,
};

/** Behaviors every theater registers besides the application's. */
export const builtinBehaviors: BehaviorRegistry = { [RECORDER_BEHAVIOR]: recorderBehavior };
