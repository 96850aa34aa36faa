import { lazy, Suspense, type ComponentType } from "react";
import { Navigate, Route, Routes } from "react-router";
import { ADMIN_PAGES } from "./auth/access";
import { RequireAuth } from "./auth/RequireAuth";
import { AdminHome, AdminLayout, RequirePermission } from "./routes/admin/AdminLayout";
import { AppLayout } from "./routes/AppLayout";
import {
  ConfirmEmailPage,
  ForgotPasswordPage,
  ResetPasswordPage,
  VerifyEmailPage,
} from "./routes/AccountLinks";
import { LoginPage, RegisterPage } from "./routes/AuthForms";
import { NewChatPage } from "./routes/NewChatPage";
import { MemoryPage } from "./routes/MemoryPage";
import { FilesPage } from "./routes/FilesPage";
import { ImportPage } from "./routes/ImportPage";
import { SearchPage } from "./routes/SearchPage";
import { SettingsPage } from "./routes/SettingsPage";
import { ConnectionsPage } from "./routes/ConnectionsPage";

// The conversation view carries the markdown and highlighting code: loaded when first needed.
const ThreadPage = lazy(() => import("./routes/ThreadPage").then((m) => ({ default: m.ThreadPage })));
// A shared conversation renders the same markdown: loaded the same way.
const SharedPage = lazy(() => import("./routes/SharedPage").then((m) => ({ default: m.SharedPage })));

// The admin pages: most people never open them, so they are a chunk of their own.
type AdminPages = typeof import("./routes/admin/pages");
function adminPage(name: keyof AdminPages) {
  return lazy(() =>
    import("./routes/admin/pages").then((m) => ({ default: m[name] as ComponentType })),
  );
}
const UsersPage = adminPage("UsersPage");
const UserDetailPage = adminPage("UserDetailPage");
const RolesPage = adminPage("RolesPage");
const RoleEditorPage = adminPage("RoleEditorPage");
const InvitesPage = adminPage("InvitesPage");
const AuditPage = adminPage("AuditPage");
const IpRulesPage = adminPage("IpRulesPage");
const McpPage = adminPage("McpPage");

function Loading() {
  return (
    <p role="status" className="muted page">
      Loading…
    </p>
  );
}

/** The admin page at /admin/<path>..., behind the permissions its navigation entry needs. */
function guarded(path: string, Page: ComponentType) {
  const permissions = ADMIN_PAGES.find((page) => page.path === path)?.permissions ?? [];
  return (
    <RequirePermission permissions={permissions}>
      <Page />
    </RequirePermission>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/register" element={<RegisterPage />} />
      <Route path="/forgot-password" element={<ForgotPasswordPage />} />
      <Route path="/reset-password" element={<ResetPasswordPage />} />
      <Route path="/verify-email" element={<VerifyEmailPage />} />
      <Route path="/confirm-email" element={<ConfirmEmailPage />} />
      {/* A conversation shared by link: for anyone, signed in or not. */}
      <Route
        path="/s/:token"
        element={
          <Suspense fallback={<Loading />}>
            <SharedPage />
          </Suspense>
        }
      />
      <Route
        element={
          <RequireAuth>
            <AppLayout />
          </RequireAuth>
        }
      >
        <Route index element={<NewChatPage />} />
        <Route
          path="chat/:threadId"
          element={
            <Suspense fallback={<Loading />}>
              <ThreadPage />
            </Suspense>
          }
        />
        <Route path="settings" element={<SettingsPage />} />
        <Route path="settings/connections" element={<ConnectionsPage />} />
        <Route path="settings/import" element={<ImportPage />} />
        <Route path="search" element={<SearchPage />} />
        <Route path="memory" element={<MemoryPage />} />
        <Route path="files" element={<FilesPage />} />
        <Route path="admin" element={<AdminLayout />}>
          <Route index element={<AdminHome />} />
          <Route path="users" element={guarded("users", UsersPage)} />
          <Route path="users/:userId" element={guarded("users", UserDetailPage)} />
          <Route path="roles" element={guarded("roles", RolesPage)} />
          <Route path="roles/new" element={guarded("roles", RoleEditorPage)} />
          <Route path="roles/:name" element={guarded("roles", RoleEditorPage)} />
          <Route path="invites" element={guarded("invites", InvitesPage)} />
          <Route path="audit" element={guarded("audit", AuditPage)} />
          <Route path="ip-rules" element={guarded("ip-rules", IpRulesPage)} />
          <Route path="mcp" element={guarded("mcp", McpPage)} />
        </Route>
        <Route path="*" element={<Navigate to="/" replace />} />
      </Route>
    </Routes>
  );
}
