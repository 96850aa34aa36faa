import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { logout } from "../api/auth";
import { forgetUser } from "./signedOut";

/** Sign out on purpose: end the session, forget what the user saw, go to /login. */
export function useSignOut(): () => Promise<void> {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  return async () => {
    try {
      await logout();
    } catch {
      // Signed out locally either way; the cookies are cleared or already useless.
    }
    forgetUser(queryClient, { explicit: true });
    void navigate("/login", { replace: true });
  };
}
