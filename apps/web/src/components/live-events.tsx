"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import {
  addEvent,
  emptyRefresh,
  isEmpty,
  iterationRate,
  recordIteration,
  withIterations,
  type IterationSamples,
  withActorCounts,
  type PendingRefresh,
} from "../lib/live-refresh";
import { useTRPC } from "../trpc/react";

type LiveState = "connecting" | "live" | "offline";

const LiveContext = createContext<LiveState>("connecting");
const SamplesContext = createContext<IterationSamples>(new Map());

/** True while server-sent events arrive; views poll as a fallback when it is false. */
export function useLive(): boolean {
  return useContext(LiveContext) === "live";
}

/** An application's iterations per second, measured from live events (not from refetches). */
export function useIterationRate(applicationId: string, now: number): number | null {
  return iterationRate(useContext(SamplesContext), applicationId, now);
}

/** Bursts of topology changes and iteration ticks are coalesced over this window. */
const FLUSH_MS = 150;
/** A step change is what the operator waits for: shown within a frame, bursts still coalesced. */
const FLUSH_OPERATION_MS = 16;

/**
 * One subscription to the server's event stream for the whole tab. Each event invalidates the
 * queries it concerns; operations sent with the event and iteration counters are written into
 * the cache directly. On every (re)connect everything is refetched, since events sent while
 * disconnected are gone.
 */
export function LiveEventsProvider({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pending = useRef<PendingRefresh>(emptyRefresh());
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const fastFlush = useRef(false);
  const [samples] = useState<IterationSamples>(() => new Map());

  const flush = () => {
    timer.current = undefined;
    fastFlush.current = false;
    const batch = pending.current;
    pending.current = emptyRefresh();
    const topologyKey = trpc.topology.get.queryKey();
    const topologyState = queryClient.getQueryState(topologyKey);
    // Writing into an invalidated query would mark it fresh and hide the refetch it is owed;
    // and the patch must not extend how long the rest of the data counts as fresh.
    if (batch.iterations.size > 0 && topologyState && !topologyState.isInvalidated) {
      queryClient.setQueryData(topologyKey, (old) => (old ? withIterations(old, batch.iterations) : old), {
        updatedAt: topologyState.dataUpdatedAt,
      });
    }
    if (batch.topology) void queryClient.invalidateQueries(trpc.topology.pathFilter());
    // An application's page: its status, recovery and operations change with the topology and the lists.
    if (batch.topology || batch.lists) void queryClient.invalidateQueries(trpc.applications.pathFilter());
    // A VM's page: its state, lock, actors and operations change with the topology and the lists.
    if (batch.topology || batch.lists) void queryClient.invalidateQueries(trpc.vms.pathFilter());
    // Actors moving during Transfer are topology changes: the open operation page's progress bar follows them.
    if (batch.progress) void queryClient.invalidateQueries(trpc.operations.get.pathFilter());
    for (const id of batch.operations) void queryClient.invalidateQueries(trpc.operations.get.queryFilter({ id }));
    if (batch.lists) {
      void queryClient.invalidateQueries(trpc.operations.list.pathFilter());
      void queryClient.invalidateQueries(trpc.operations.search.pathFilter());
      void queryClient.invalidateQueries(trpc.operations.operators.pathFilter());
      void queryClient.invalidateQueries(trpc.audit.pathFilter());
    }
  };

  useEffect(() => () => clearTimeout(timer.current), []);

  const subscription = useSubscription(
    trpc.events.stream.subscriptionOptions(undefined, {
      onStarted: () => void queryClient.invalidateQueries(),
      onData: (event) => {
        if (event.type === "application") recordIteration(samples, event.applicationId, event.iteration, Date.now());
        if (event.type === "operation" && event.operation) {
          // The event carries the operation as operations.get returns it: shown without a
          // refetch. Only a page that shows it has it cached; others fetch when they open it. A
          // refetch already under way holds older data and is dropped so it cannot overwrite this.
          const key = trpc.operations.get.queryKey({ id: event.operationId });
          const operation = event.operation;
          if (queryClient.getQueryState(key))
            void queryClient
              .cancelQueries({ queryKey: key, exact: true }, { revert: false })
              .then(() => queryClient.setQueryData(key, operation));
        }
        if (event.type === "actors") {
          // Each committed batch of a Transfer goes straight into the topology. A refetch under
          // way may have read the database before this batch: it is dropped (it would undo the
          // batch on screen) and started again, now that the batch is committed.
          const key = trpc.topology.get.queryKey();
          const state = queryClient.getQueryState(key);
          if (state?.data) {
            const refetch = state.fetchStatus === "fetching" || state.isInvalidated;
            void queryClient.cancelQueries({ queryKey: key, exact: true }, { revert: false }).then(() => {
              queryClient.setQueryData(key, (old) => (old ? withActorCounts(old, event.vms) : old), {
                updatedAt: state.dataUpdatedAt,
              });
              if (refetch) void queryClient.invalidateQueries({ queryKey: key, exact: true });
            });
          }
        }
        addEvent(pending.current, event);
        if (isEmpty(pending.current)) return;
        if (event.type === "operation" && !event.operation && !fastFlush.current) {
          clearTimeout(timer.current);
          fastFlush.current = true;
          timer.current = setTimeout(flush, FLUSH_OPERATION_MS);
        } else if (timer.current === undefined) {
          timer.current = setTimeout(flush, FLUSH_MS);
        }
      },
    }),
  );

  const state: LiveState =
    subscription.status === "pending" ? "live" : subscription.status === "error" ? "offline" : "connecting";
  return (
    <LiveContext.Provider value={state}>
      <SamplesContext.Provider value={samples}>{children}</SamplesContext.Provider>
    </LiveContext.Provider>
  );
}

export function LiveIndicator() {
  const state = useContext(LiveContext);
  const text = { live: "Live", connecting: "Connecting…", offline: "Offline — retrying" }[state];
  return (
    <span
      className={`live live--${state}`}
      data-testid="live-status"
      data-state={state}
      title="Server-sent events from Postgres NOTIFY"
    >
      <span className="live__dot" aria-hidden />
      {text}
    </span>
  );
}
