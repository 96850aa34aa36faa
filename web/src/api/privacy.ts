// The user's own data: the export download, their threads' retention (a setting of
// /api/me/settings), deleting their account; and an administrator deleting an account.
import { api, unwrap, type Schemas } from "./client";
import { saveDownload } from "./download";
import { problemError } from "./errors";

export type Settings = Schemas["SettingsOut"];
export type SettingsPatch = Schemas["SettingsPatch"];

export const SETTINGS_KEY = ["settings"] as const;

export function getSettings(): Promise<Settings> {
  return unwrap(api.GET("/api/me/settings"));
}

export function updateSettings(patch: SettingsPatch): Promise<Settings> {
  return unwrap(api.PATCH("/api/me/settings", { body: patch }));
}

/** The export, read whole (the server streams it) and handed to the browser as a file. */
export async function downloadExport(): Promise<string> {
  const { data, error, response } = await api.GET("/api/me/export", { parseAs: "blob" });
  if (!response.ok || !data) throw problemError(response.status, error);
  return saveDownload(response, data, "confide-export.json");
}

/** Delete the caller's account for good; `email` is the account's, typed again. */
export async function deleteMyAccount(email: string): Promise<void> {
  await unwrap(api.DELETE("/api/me", { body: { email } }));
}

export async function deleteUser(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/admin/users/{user_id}", { params: { path: { user_id: id } } }));
}
