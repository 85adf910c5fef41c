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

/**
 * Sends numbered messages (1, 2, 3, …) to each of its peers, one round per tick, and records
 * what it receives per sender: after any migrations every list must read 1..rounds, in order.
 */
export interface ChatterInit {
  peers: string[];
  rounds: number;
  /** Pause between rounds (a self-message, so it survives migration). */
  intervalMs: number;
}
export interface ChatterState extends ChatterInit {
  round: number;
  received: Map<string, number[]>;
}
export type ChatterMessage = { kind: "tick" } | { kind: "say"; n: number };

export const CHATTER_BEHAVIOR = "malleo.chatter";

export const chatterBehavior: ActorBehavior<ChatterState, ChatterMessage> = {
  init: (args) => ({ ...(args as ChatterInit), round: 0, received: new Map() }),
  start(state, context) {
    context.schedule({ kind: "tick" }, state.intervalMs);
    return state;
  },
  receive(state, message, context) {
    if (message.kind === "say") {
      const from = context.sender ?? "external";
      const list = state.received.get(from) ?? [];
      list.push(message.n);
      state.received.set(from, list);
      return state;
    }
    state.round++;
    for (const peer of state.peers) context.send(peer, { kind: "say", n: state.round } satisfies ChatterMessage);
    if (state.round < state.rounds) context.schedule({ kind: "tick" }, state.intervalMs);
    return state;
  },
  progress: (state) => state.round,
};

/**
 * Measures message round trips to an echo actor: sends `ping`, and on each `pong` records the
 * elapsed time and sends the next, `count` times. Both timestamps are taken in its own process.
 */
export interface PingerInit {
  echo: string;
  count: number;
}
export interface PingerState extends PingerInit {
  sentAt: number;
  roundTripsMs: number[];
}
export type PingMessage = { kind: "go" } | { kind: "ping" } | { kind: "pong" };

export const PINGER_BEHAVIOR = "malleo.pinger";
export const ECHO_BEHAVIOR = "malleo.echo";

export const pingerBehavior: ActorBehavior<PingerState, PingMessage> = {
  init: (args) => ({ ...(args as PingerInit), sentAt: 0, roundTripsMs: [] }),
  receive(state, message, context) {
    if (message.kind === "pong") state.roundTripsMs.push(performance.now() - state.sentAt);
    if (message.kind === "pong" || message.kind === "go") {
      if (state.roundTripsMs.length < state.count) {
        state.sentAt = performance.now();
        context.send(state.echo, { kind: "ping" } satisfies PingMessage);
      }
    }
    return state;
  },
  progress: (state) => state.roundTripsMs.length,
};

export const echoBehavior: ActorBehavior<null, PingMessage> = {
  init: () => null,
  receive(state, message, context) {
    if (message.kind === "ping" && context.sender) context.send(context.sender, { kind: "pong" } satisfies PingMessage);
    return state;
  },
};

/** Carries `bytes` of state and does nothing: the payload of migration benchmarks. */
export interface BallastState {
  data: Uint8Array;
}
export const BALLAST_BEHAVIOR = "malleo.ballast";

export const ballastBehavior: ActorBehavior<BallastState, unknown> = {
  init(args, self) {
    const data = new Uint8Array((args as { bytes: number }).bytes);
    for (let index = 0; index < data.length; index++) data[index] = (index * 31 + self.length) & 0xff;
    return { data };
  },
  receive: (state) => state,
};

/** Behaviors every theater registers besides the application's. */
export const builtinBehaviors: BehaviorRegistry = {
  [RECORDER_BEHAVIOR]: recorderBehavior,
  [CHATTER_BEHAVIOR]: chatterBehavior,
  [PINGER_BEHAVIOR]: pingerBehavior,
  [ECHO_BEHAVIOR]: echoBehavior,
  [BALLAST_BEHAVIOR]: ballastBehavior,
};
