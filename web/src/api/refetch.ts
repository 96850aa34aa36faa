import type { QueryClient, QueryKey } from "@tanstack/react-query";

/** Refetch what a change made stale, with a request sent now. React Query folds a refetch into
 * a fetch already in flight when the query has no data yet (its first fetch), and that fetch may
 * have been answered before the change (the settings page's activity list read before a password
 * change, a new chat's thread read before its first message titled it): it is cancelled first,
 * so its stale answer is dropped. Use this, not `invalidateQueries` alone, after every change. */
export async function refetchFresh(queryClient: QueryClient, queryKey: QueryKey): Promise<void> {
  await queryClient.cancelQueries({ queryKey });
  await queryClient.invalidateQueries({ queryKey });
}
