// An administrator deletes an account for good (its data key first, then its data), after a
// confirmation; back to the list once done.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";
import { adminKeys, type AdminUser } from "../../api/admin";
import { errorMessage } from "../../api/errors";
import { deleteUser } from "../../api/privacy";
import { refetchFresh } from "../../api/refetch";
import { Dialog } from "../../components/Dialog";
import { ErrorAlert } from "../../components/ErrorAlert";

export function DeleteUser({ user }: { user: AdminUser }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [confirm, setConfirm] = useState(false);
  const remove = useMutation({
    mutationFn: () => deleteUser(user.id),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: adminKeys.user(user.id) });
      void refetchFresh(queryClient, adminKeys.users);
      void navigate("/admin/users", { replace: true });
    },
  });
  const close = () => {
    setConfirm(false);
    remove.reset();
  };
  return (
    <section className="card" aria-labelledby="delete-user-heading">
      <h2 id="delete-user-heading">Delete account</h2>
      <p className="muted">Deletes the account and all its data for good: it cannot be undone.</p>
      <button type="button" className="button danger" onClick={() => setConfirm(true)}>
        Delete user
      </button>
      {confirm && (
        <Dialog
          title="Delete this account?"
          onClose={close}
          actions={
            <>
              <button
                type="button"
                className="button danger"
                disabled={remove.isPending}
                onClick={() => remove.mutate()}
              >
                Delete account for good
              </button>
              <button type="button" className="button" data-autofocus onClick={close}>
                Cancel
              </button>
            </>
          }
        >
          <p>
            {user.email} is signed out at once, and their conversations, memories and settings are deleted. Nothing
            can be recovered.
          </p>
          {remove.isError && <ErrorAlert message={errorMessage(remove.error)} />}
        </Dialog>
      )}
    </section>
  );
}
