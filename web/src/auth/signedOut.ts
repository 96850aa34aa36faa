import type { QueryClient } from "@tanstack/react-query";
import { keys } from "../api/threads";

let onPurposeAt = 0;

/** Forget everything the signed-in user saw; "me" becomes null, so RequireAuth goes to /login.
 * The "me" query itself is kept (set, not removed) so components observing it see the change.
 * `explicit`: the user chose to sign out, so /login gets no ?next= to come back to. */
export function forgetUser(queryClient: QueryClient, { explicit = false } = {}): void {
  if (explicit) onPurposeAt = Date.now();
  void queryClient.cancelQueries({ predicate: (q) => q.queryKey[0] !== keys.me[0] });
  queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== keys.me[0] });
  queryClient.setQueryData(keys.me, null);
}

/** Whether the user just chose to sign out (rather than the session ending by itself). */
export function signedOutOnPurpose(): boolean {
  return Date.now() - onPurposeAt < 3000;
}
