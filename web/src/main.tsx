import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { ApiError } from "./api/errors";
import { session } from "./api/session";
import { keys } from "./api/threads";
import { forgetUser } from "./auth/signedOut";
import { App } from "./App";
import "./styles/app.css";
import { refetchFresh } from "./api/refetch";

// A 403 may mean the user's roles changed since "me" was read (a permission revoked takes
// effect on the next request): read "me" again, so the navigation shows what is left.
function onError(error: unknown): void {
  if (error instanceof ApiError && error.status === 403) void refetchFresh(queryClient, keys.me);
}

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      // A 4xx will not change by asking again; network trouble might.
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400) && count < 2,
    },
  },
});

// The session ended (refresh refused): forget everything; RequireAuth sends to /login.
session.onSignedOut(() => forgetUser(queryClient));
session.resume();

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </QueryClientProvider>,
  );
}
