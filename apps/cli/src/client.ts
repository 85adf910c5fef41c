import type { AppRouter } from "@malleo/api";
import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";

/** A tRPC client for the Malleo API that authenticates with an API token (`Authorization: Bearer`). */
export function apiClient(baseUrl: string, token: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: new URL("/api/trpc", baseUrl).toString(),
        transformer: superjson,
        headers: () => ({ authorization: `Bearer ${token}` }),
      }),
    ],
  });
}

export type ApiClient = ReturnType<typeof apiClient>;
