// The admin pages, one chunk loaded when an admin first opens one.
export { AuditPage } from "./AuditPage";
export { InvitesPage } from "./InvitesPage";
export { IpRulesPage } from "./IpRulesPage";
export { McpPage } from "./McpPage";
export { RoleEditorPage } from "./RoleEditorPage";
export { RolesPage } from "./RolesPage";
export { UserDetailPage } from "./UserDetailPage";
export { UsersPage } from "./UsersPage";
