// Invites as the admin pages show them.
import type { InviteCreated } from "../api/admin";

/** The registration link of a just-created invite, absolute: the server builds it from
 * CONFIDE_PUBLIC_URL when that is set; a relative one is taken as this origin's. */
export function inviteLink(invite: Pick<InviteCreated, "link" | "token">, origin = window.location.origin): string {
  if (invite.link) return new URL(invite.link, origin).toString();
  return `${origin}/register?invite=${encodeURIComponent(invite.token)}`;
}
