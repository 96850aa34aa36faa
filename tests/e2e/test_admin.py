"""The admin pages in the browser, on a server whose registration needs approval: users
(approve, change roles), roles (the permission matrix and its parent), invites (copy a link,
register through it) and the audit log (filters). Each page is reached through the app's own
navigation, which shows it only to those holding its permissions."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.e2e.conftest import NewContext, Server
from tests.e2e.flows import admin_nav, api_as, create_account, open_admin, sign_in, user_id
from tests.factories import PASSWORD, unique_email


async def admin_page(new_context: NewContext, server: Server, **options: object) -> Page:
    """A new administrator (made with `confide users create --admin`), signed in."""
    email = unique_email("e2e-admin")
    server.create_user(email, admin=True)
    context = await new_context(base_url=server.url, **options)
    page = await context.new_page()
    await sign_in(page, email)
    return page


async def pending_account(server: Server, context: BrowserContext) -> str:
    """A new account on the approval server: it waits for approval."""
    email = await create_account(context)
    async with api_as(server.url, email) as client:
        assert (await client.get("/api/auth/me")).json()["status"] == "pending"
    return email


def role_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_the_admin_link_shows_only_with_admin_permissions(
    new_context: NewContext, approval_server: Server
) -> None:
    page = await admin_page(new_context, approval_server)
    await page.get_by_role("link", name="Admin", exact=True).click()
    tabs = admin_nav(page).get_by_role("link")
    await expect(tabs).to_have_text(
        ["Users", "Roles", "Invites", "Audit log", "IP rules", "MCP servers"]
    )

    # An approved account with the user role only: no Admin link, and the pages refuse.
    email = unique_email("e2e")
    approval_server.create_user(email)
    other = await (await new_context(base_url=approval_server.url)).new_page()
    await sign_in(other, email)
    await expect(other.get_by_role("link", name="Account")).to_be_visible()
    await expect(other.get_by_role("link", name="Admin", exact=True)).to_have_count(0)
    await other.goto("/admin/users")
    await expect(other.get_by_role("heading", level=1, name="Not available")).to_be_visible()
    await expect(admin_nav(other).get_by_role("link")).to_have_count(0)


async def test_users_page_approves_a_pending_user_and_changes_their_roles(
    new_context: NewContext, approval_server: Server
) -> None:
    page = await admin_page(new_context, approval_server)
    newcomer_context = await new_context(base_url=approval_server.url)
    email = await pending_account(approval_server, newcomer_context)
    auditor = role_name("auditor")
    async with api_as(approval_server.url, await admin_email(page)) as client:
        made = await client.post(
            "/api/admin/roles",
            json={"name": auditor, "permissions": ["audit:read"], "description": "Reads the trail"},
        )
        assert made.status_code == 201, made.text

    await open_admin(page, "Users")
    await page.get_by_label("Status").select_option("pending")
    await page.get_by_label("Search users").fill(email)
    rows = page.get_by_test_id("user-row")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("Pending approval")
    await rows.get_by_role("link", name=email).click()

    await expect(page.get_by_role("heading", level=1, name=email)).to_be_visible()
    await page.get_by_role("button", name="Approve").click()
    status = page.get_by_role("region", name="Account status")
    await expect(status.get_by_role("status")).to_have_text("Approved.")
    await expect(page.locator(".facts [data-status]")).to_have_text("Active")
    await expect(status.get_by_role("button", name="Approve")).to_have_count(0)

    roles = page.get_by_role("region", name="Roles")
    await expect(roles.get_by_role("checkbox", name="user")).to_be_checked()
    await roles.get_by_role("checkbox", name=auditor).check()
    await roles.get_by_role("button", name="Save roles").click()
    await expect(roles.get_by_role("status")).to_contain_text("Roles saved")

    async with api_as(approval_server.url, email) as client:  # approved, and holds the role
        me = (await client.get("/api/auth/me")).json()
        assert me["status"] == "active"
        assert set(me["roles"]) == {"user", auditor}
        assert "audit:read" in me["permissions"]

    # The list shows the change; filtering by the role finds exactly that user.
    await admin_nav(page).get_by_role("link", name="Users").click()
    await page.get_by_label("Role").select_option(auditor)
    await expect(page.get_by_test_id("user-row")).to_have_count(1)
    await expect(page.get_by_test_id("user-row")).to_contain_text(email)
    await expect(page.get_by_test_id("user-row")).to_contain_text("Active")


async def test_the_apis_refusals_are_shown_in_words(
    new_context: NewContext, approval_server: Server
) -> None:
    """The anti-escalation rules, as the pages show them: one's own roles are not editable,
    and a refusal of the API (problem+json) reaches the person as words."""
    page = await admin_page(new_context, approval_server)
    me = await admin_email(page)
    # An admin's own page: the rule that stops changing one's own roles is shown.
    await open_admin(page, "Users")
    await page.get_by_label("Search users").fill(me)
    await page.get_by_test_id("user-row").get_by_role("link", name=me).click()
    roles = page.get_by_role("region", name="Roles")
    await expect(roles.get_by_text("You cannot change your own roles.")).to_be_visible()
    await expect(roles.get_by_role("checkbox", name="admin")).to_be_disabled()

    # A user manager without the admin role cannot take it from an admin (escalation).
    helper_email = unique_email("e2e")
    approval_server.create_user(helper_email)
    manager = role_name("manager")
    async with api_as(approval_server.url, me) as client:
        made = await client.post(
            "/api/admin/roles",
            json={"name": manager, "permissions": ["users:read", "users:manage"]},
        )
        assert made.status_code == 201, made.text
        helper_id = await user_id(approval_server.url, helper_email)
        put = await client.put(f"/api/admin/users/{helper_id}/roles", json={"roles": [manager]})
        assert put.status_code == 200, put.text
    helper = await (await new_context(base_url=approval_server.url)).new_page()
    await sign_in(helper, helper_email)
    await helper.goto(f"/admin/users/{await user_id(approval_server.url, me)}")
    await helper.get_by_role("button", name="Disable").click()
    await helper.get_by_role("dialog").get_by_role("button", name="Disable account").click()
    alert = helper.get_by_role("dialog").get_by_role("alert")
    await expect(alert).to_contain_text("permissions you do not hold")


async def admin_email(page: Page) -> str:
    me = await page.request.get("/api/auth/me")
    assert me.status == 200
    return str((await me.json())["email"])


async def test_roles_page_edits_a_role_with_its_permission_matrix(
    new_context: NewContext, approval_server: Server
) -> None:
    page = await admin_page(new_context, approval_server)
    name = role_name("support")
    await open_admin(page, "Roles")
    await page.get_by_role("link", name="New role").click()
    await expect(page.get_by_role("heading", level=1, name="New role")).to_be_visible()
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Description").fill("Helps people with their accounts")

    def row(permission: str) -> Locator:
        return page.locator(f'[data-testid="permission-row"][data-permission="{permission}"]')

    # No parent: nothing inherited. With `user` as parent, its grants show as inherited.
    await expect(row("threads:read").get_by_test_id("inherited")).to_have_text("not inherited")
    await page.get_by_label("Inherits from").select_option("user")
    await expect(row("threads:read").get_by_test_id("inherited")).to_have_text("from user")
    await expect(row("threads:read").get_by_role("checkbox")).not_to_be_checked()
    await expect(row("users:read").get_by_test_id("inherited")).to_have_text("not inherited")
    await page.get_by_role("checkbox", name="users:read", exact=True).check()
    await page.get_by_role("checkbox", name="audit:read", exact=True).check()
    await page.get_by_role("button", name="Create role").click()
    await expect(page).to_have_url(re.compile(rf"/admin/roles/{name}$"))
    await expect(page.get_by_role("status").filter(has_text="Role saved")).to_be_visible()

    async with api_as(approval_server.url, await admin_email(page)) as client:
        role = (await client.get(f"/api/admin/roles/{name}")).json()
    assert role["parent"] == "user"
    assert role["permissions"] == ["audit:read", "users:read"]
    assert {"threads:read", "users:read", "audit:read"} <= set(role["effective_permissions"])

    # Read back after a reload; then one grant less, and no parent: nothing inherited.
    await page.reload()
    await expect(page.get_by_role("checkbox", name="users:read", exact=True)).to_be_checked()
    await expect(row("threads:read").get_by_test_id("inherited")).to_have_text("from user")
    await page.get_by_role("checkbox", name="audit:read", exact=True).uncheck()
    await page.get_by_label("Inherits from").select_option("")
    await expect(row("threads:read").get_by_test_id("inherited")).to_have_text("not inherited")
    await page.get_by_role("button", name="Save role").click()
    await expect(page.get_by_role("status").filter(has_text="Role saved")).to_be_visible()
    async with api_as(approval_server.url, await admin_email(page)) as client:
        role = (await client.get(f"/api/admin/roles/{name}")).json()
    assert role["parent"] is None
    assert role["permissions"] == ["users:read"]

    # The list shows it; deleting it asks first, then it is gone.
    await admin_nav(page).get_by_role("link", name="Roles").click()
    roles_table = page.get_by_role("table", name="Roles")
    await expect(roles_table.get_by_role("link", name=name)).to_be_visible()
    await roles_table.get_by_role("link", name=name).click()
    await page.get_by_role("button", name="Delete role").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(page).to_have_url(re.compile(r"/admin/roles$"))
    await expect(roles_table.get_by_role("link", name="user", exact=True)).to_be_visible()
    await expect(roles_table.get_by_role("link", name=name)).to_have_count(0)


async def test_a_role_cycle_is_refused_with_the_servers_reason(
    new_context: NewContext, approval_server: Server
) -> None:
    page = await admin_page(new_context, approval_server)
    parent, child = role_name("lead"), role_name("member")
    async with api_as(approval_server.url, await admin_email(page)) as client:
        for body in ({"name": parent}, {"name": child, "parent": parent}):
            made = await client.post("/api/admin/roles", json=body)
            assert made.status_code == 201, made.text
    await page.goto(f"/admin/roles/{parent}")
    choices = page.get_by_label("Inherits from").locator("option")
    # Neither itself nor a role below it is offered as a parent...
    await expect(choices.filter(has_text=child)).to_have_count(0)
    await expect(choices.filter(has_text=parent)).to_have_count(0)
    await expect(choices.filter(has_text="user")).to_have_count(1)


async def test_invites_page_copies_a_link_that_registers_an_account(
    new_context: NewContext, approval_server: Server
) -> None:
    page = await admin_page(
        new_context, approval_server, permissions=["clipboard-read", "clipboard-write"]
    )
    reviewer = role_name("reviewer")
    async with api_as(approval_server.url, await admin_email(page)) as client:
        made = await client.post(
            "/api/admin/roles", json={"name": reviewer, "permissions": ["users:read"]}
        )
        assert made.status_code == 201, made.text

    await open_admin(page, "Invites")
    await page.get_by_label("Expires after").select_option(label="3 days")
    await page.get_by_role("checkbox", name=reviewer).check()
    await page.get_by_role("button", name="Create invite").click()
    created = page.get_by_test_id("invite-link")
    link = await created.get_by_label("Invite link").input_value()
    assert re.fullmatch(rf"{re.escape(approval_server.url)}/register\?invite=[\w-]+", link), link
    await created.get_by_role("button", name="Copy link").click()
    await expect(created.get_by_role("status")).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == link
    invited = page.get_by_test_id("invite-row").filter(has_text=reviewer)
    await expect(invited).to_contain_text("Not used yet")

    # Someone signed out opens the link and registers: active at once (no approval wait),
    # holding the invite's role, so the Users page is theirs to open.
    guest = await (await new_context(base_url=approval_server.url)).new_page()
    await guest.goto(link)
    await expect(guest.get_by_test_id("invite-notice")).to_be_visible()
    email = unique_email("e2e-invited")
    await guest.get_by_label("Email", exact=True).fill(email)
    await guest.get_by_label("Password", exact=True).fill(PASSWORD)
    await guest.get_by_role("button", name="Create account").click()
    await expect(guest.get_by_label("Agent")).to_be_visible()
    await open_admin(guest, "Users")
    me = await (await guest.request.get("/api/auth/me")).json()
    assert me["status"] == "active"
    assert set(me["roles"]) == {"user", reviewer}

    # The link works once.
    again = await (await new_context(base_url=approval_server.url)).new_page()
    await again.goto(link)
    await again.get_by_label("Email", exact=True).fill(unique_email("e2e-late"))
    await again.get_by_label("Password", exact=True).fill(PASSWORD)
    await again.get_by_role("button", name="Create account").click()
    await expect(again.get_by_role("alert")).to_contain_text("already used")

    # The list: used; another invite, for one address, revoked.
    await page.reload()
    await expect(invited).to_contain_text("Used")
    await expect(invited.get_by_role("button")).to_have_count(0)
    never = unique_email("e2e-never")
    await page.get_by_label("Email (optional)").fill(never)
    await page.get_by_role("button", name="Create invite").click()
    await expect(created).to_contain_text(f"to {never}")
    unused = page.get_by_test_id("invite-row").filter(has_text=never)
    await expect(unused).to_contain_text("Not used yet")
    await unused.get_by_role("button", name=re.compile("^Revoke")).click()
    await expect(unused).to_contain_text("Revoked")
    await expect(unused.get_by_role("button")).to_have_count(0)


async def test_audit_log_filters_by_actor_action_outcome_and_time(
    new_context: NewContext, approval_server: Server
) -> None:
    page = await admin_page(new_context, approval_server)
    victim = unique_email("e2e-victim")
    approval_server.create_user(victim)
    visitor = await (await new_context(base_url=approval_server.url)).new_page()
    for _ in range(2):  # two refused sign-ins of one account
        await visitor.goto("/login")
        await visitor.get_by_label("Email", exact=True).fill(victim)
        await visitor.get_by_label("Password", exact=True).fill(PASSWORD + "-wrong")
        await visitor.get_by_role("button", name="Sign in").click()
        await expect(visitor.get_by_role("alert")).to_be_visible()
    await sign_in(visitor, victim)

    await open_admin(page, "Audit log")
    rows = page.get_by_test_id("audit-row")
    await expect(rows.first).to_be_visible()
    await page.get_by_label("Actor").fill(victim)
    await page.get_by_label("Action").fill("auth.signed_in")
    await expect(rows).to_have_count(3)  # two failures, one success
    await expect(rows.filter(has_text=victim)).to_have_count(3)
    await page.get_by_label("Outcome").select_option("failure")
    await expect(rows).to_have_count(2)
    for index in range(2):
        await expect(rows.nth(index)).to_have_attribute("data-action", "auth.signed_in")
        await expect(rows.nth(index)).to_have_attribute("data-outcome", "failure")
        await expect(rows.nth(index)).to_contain_text(victim)
        await expect(rows.nth(index)).to_contain_text("invalid_credentials")

    await page.get_by_label("Outcome").select_option("")
    await expect(rows).to_have_count(3)
    await page.get_by_label("Action").fill("auth.password_changed")
    await expect(page.get_by_text("No events match.")).to_be_visible()

    # A time range that ends before the events: nothing; one that holds them: all three.
    await page.get_by_label("Action").fill("auth.signed_in")
    await page.get_by_label("Until").fill("2020-01-01T00:00")
    await expect(page.get_by_text("No events match.")).to_be_visible()
    await page.get_by_label("Until").fill("")
    await page.get_by_label("From").fill("2020-01-01T00:00")
    await expect(rows).to_have_count(3)


async def test_a_revoked_role_takes_the_admin_page_away_on_the_next_request(
    new_context: NewContext, approval_server: Server
) -> None:
    page = await admin_page(new_context, approval_server)
    auditor = role_name("auditor")
    reader_email = unique_email("e2e-auditor")
    approval_server.create_user(reader_email)
    reader_id = await user_id(approval_server.url, reader_email)
    async with api_as(approval_server.url, await admin_email(page)) as client:
        made = await client.post(
            "/api/admin/roles", json={"name": auditor, "permissions": ["audit:read"]}
        )
        assert made.status_code == 201, made.text
        put = await client.put(f"/api/admin/users/{reader_id}/roles", json={"roles": [auditor]})
        assert put.status_code == 200, put.text
    reader = await (await new_context(base_url=approval_server.url)).new_page()
    await sign_in(reader, reader_email)
    await open_admin(reader, "Audit log")
    await expect(admin_nav(reader).get_by_role("link")).to_have_text(["Audit log"])
    await expect(reader.get_by_test_id("audit-row").first).to_be_visible()

    # The admin takes the role away through the page.
    await page.goto(f"/admin/users/{reader_id}")
    roles = page.get_by_role("region", name="Roles")
    await roles.get_by_role("checkbox", name=auditor).uncheck()
    await roles.get_by_role("button", name="Save roles").click()
    await expect(roles.get_by_role("status")).to_contain_text("Roles saved")

    # The reader's next request is refused, and the app then shows what is left: nothing.
    await reader.get_by_label("Outcome").select_option("failure")
    await expect(reader.get_by_role("heading", level=1, name="Not available")).to_be_visible()
    await expect(reader.get_by_role("link", name="Admin", exact=True)).to_have_count(0)
