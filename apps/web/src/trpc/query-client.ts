import { QueryClient } from "@tanstack/react-query";

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Live events invalidate what changed, so data is fresh until an event says otherwise.
        staleTime: 30_000,
        retry: (failures, error) =>
          failures < 2 && !/NOT_FOUND|BAD_REQUEST/.test(String((error as { data?: { code?: string } }).data?.code)),
      },
    },
  });
}
