import type { AppRouter } from "@malleo/api";
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { EventSource } from "eventsource";
import superjson from "superjson";

/**
 * A tRPC client for the Malleo API that authenticates with an API token (`Authorization: Bearer`).
 * Subscriptions use the same server-sent events as the web UI; Node 20 has no EventSource, so the
 * `eventsource` package supplies one, with the token added to its requests.
 */
export function apiClient(baseUrl: string, token: string) {
  const url = new URL("/api/trpc", baseUrl).toString();
  const authorization = `Bearer ${token}`;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization } }),
          },
        }),
        false: httpLink({ url, transformer: superjson, headers: () => ({ authorization }) }),
      }),
    ],
  });
}

export type ApiClient = ReturnType<typeof apiClient>;
