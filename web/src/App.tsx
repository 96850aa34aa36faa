import { lazy, Suspense } from "react";
import { Navigate, Route, Routes } from "react-router";
import { RequireAuth } from "./auth/RequireAuth";
import { AppLayout } from "./routes/AppLayout";
import { LoginPage, RegisterPage } from "./routes/AuthForms";
import { NewChatPage } from "./routes/NewChatPage";
import { SettingsPage } from "./routes/SettingsPage";

// The conversation view carries the markdown and highlighting code: loaded when first needed.
const ThreadPage = lazy(() => import("./routes/ThreadPage").then((m) => ({ default: m.ThreadPage })));

function Loading() {
  return (
    <p role="status" className="muted page">
      Loading…
    </p>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/register" element={<RegisterPage />} />
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
        <Route path="*" element={<Navigate to="/" replace />} />
      </Route>
    </Routes>
  );
}
