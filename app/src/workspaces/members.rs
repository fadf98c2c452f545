//! `/w/:ws/members`: members with roles and permission flags, invitation links.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use uuid::Uuid;

use crate::error::AppError;
use crate::ui::form::{CopyField, FormError, Submit, action_error, confirm, initials, loaded, short_date};
use crate::ui::toast::toast_errors;
use crate::workspaces::api::{
    Invite, RemoveMember, RevokeInvitation, SetMemberFlag, SetMemberRole, list_invitations, list_members,
};
use crate::workspaces::layout::use_workspace;
use crate::workspaces::model::{Flag, MemberView, Permission, Role, WorkspaceView};

/// Runs `then` after each run of `action`, failed or not, so controls show what is stored
/// again (a refused role change must not stay selected); failures become toasts.
fn after_each<S>(action: ServerAction<S>, then: impl Fn() + 'static)
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    toast_errors(action);
    Effect::new(move |_| {
        if action.value().with(Option::is_some) {
            then();
        }
    });
}

/// Members and invitations of the open workspace.
#[component]
pub fn MembersPage() -> impl IntoView {
    let ws = use_workspace();
    view! {
        <Title text="Members · Flowdeck"/>
        {loaded(ws.data, |w| view! { <Members w/> })}
    }
}

#[derive(Clone, Copy)]
struct MemberActions {
    set_role: ServerAction<SetMemberRole>,
    /// One's own role: what one may do on this page changes with it.
    set_own_role: ServerAction<SetMemberRole>,
    set_flag: ServerAction<SetMemberFlag>,
    remove: ServerAction<RemoveMember>,
    leave: ServerAction<RemoveMember>,
}

#[component]
fn Members(w: WorkspaceView) -> impl IntoView {
    let ws = use_workspace();
    let changed = RwSignal::new(0u32);
    let workspace_id = w.id;
    let members = Resource::new(move || changed.get(), move |_| list_members(workspace_id));
    let refresh_list = move || changed.update(|n| *n += 1);
    // A role change can change what the signed-in member may do here: reload the workspace too.
    let refresh_all = move || {
        refresh_list();
        ws.refresh.update(|n| *n += 1);
    };
    let actions = MemberActions {
        set_role: ServerAction::new(),
        set_own_role: ServerAction::new(),
        set_flag: ServerAction::new(),
        remove: ServerAction::new(),
        leave: ServerAction::new(),
    };
    after_each(actions.set_role, refresh_list);
    after_each(actions.set_own_role, refresh_all);
    after_each(actions.set_flag, refresh_list);
    after_each(actions.remove, refresh_list);
    toast_errors(actions.leave);
    Effect::new(move |_| {
        // Leaving changes the whole app (switcher, home): load it afresh.
        if matches!(actions.leave.value().get(), Some(Ok(())))
            && let Some(w) = web_sys::window()
        {
            let _ = w.location().set_href("/");
        }
    });
    let me = w.clone();
    view! {
        <header class="page-header">
            <div>
                <p class="eyebrow">{w.name.clone()}</p>
                <h1>"Members"</h1>
            </div>
        </header>
        {w.can(Permission::Invite).then(|| view! { <Invitations w=w.clone()/> })}
        <section class="panel">
            <h2>"People"</h2>
            {loaded(
                members,
                move |list| {
                    view! {
                        <ul class="member-list" data-testid="member-list">
                            {list.into_iter().map(|m| view! { <MemberRow m me=me.clone() actions/> }).collect_view()}
                        </ul>
                    }
                },
            )}
        </section>
    }
}

#[component]
fn MemberRow(m: MemberView, me: WorkspaceView, actions: MemberActions) -> impl IntoView {
    let workspace_id = me.id;
    let user_id = m.user_id;
    let manage = me.can(Permission::ManageMembers) && (m.role != Role::Owner || me.role == Role::Owner);
    let roles: Vec<Role> = Role::ALL.into_iter().filter(|r| *r >= me.role).collect();
    let name = m.name.clone();
    let is_me = m.user_id == me.me;
    let flags_editable = manage && m.role == Role::Member;
    let member_role = m.role;
    view! {
        <li class="member" data-testid="member">
            <span class="avatar" aria-hidden="true">{initials(&m.name)}</span>
            <div class="member-who">
                <strong>{m.name.clone()}</strong>
                <small class="muted">{m.email.clone()} " · joined " {short_date(&m.joined_at)}</small>
                <div class="flags" aria-label="Permissions">
                    {Flag::ALL
                        .into_iter()
                        .filter(|f| f.is_write())
                        .map(|f| {
                            let on = f.get(&m.flags) || member_role.is_manager();
                            view! {
                                <label class="flag" class:on=on>
                                    <input
                                        type="checkbox"
                                        checked=on
                                        disabled=!flags_editable
                                        on:change=move |ev| {
                                            actions.set_flag.dispatch(SetMemberFlag { workspace_id, user_id, flag: f, value: event_target_checked(&ev) });
                                        }
                                    />
                                    {f.label()}
                                </label>
                            }
                        })
                        .collect_view()}
                </div>
            </div>
            {if manage {
                view! {
                    <select
                        aria-label=format!("Role of {name}")
                        on:change=move |ev| {
                            if let Some(role) = Role::parse(&event_target_value(&ev)) {
                                let action = if is_me { actions.set_own_role } else { actions.set_role };
                                action.dispatch(SetMemberRole { workspace_id, user_id, role });
                            }
                        }
                    >
                        {roles
                            .iter()
                            .map(|r| view! { <option value=r.as_str() selected=*r == member_role>{r.label()}</option> })
                            .collect_view()}
                    </select>
                }
                    .into_any()
            } else {
                view! { <span class="badge">{member_role.label()}</span> }.into_any()
            }}
            {if is_me {
                view! {
                    <button
                        class="danger ghost"
                        on:click=move |_| {
                            if confirm("Leave this workspace? You will need a new invitation to come back.") {
                                actions.leave.dispatch(RemoveMember { workspace_id, user_id });
                            }
                        }
                    >
                        "Leave"
                    </button>
                }
                    .into_any()
            } else if manage {
                view! {
                    <button
                        class="danger ghost"
                        aria-label=format!("Remove {name}")
                        on:click=move |_| {
                            if confirm(&format!("Remove {} from this workspace?", m.name)) {
                                actions.remove.dispatch(RemoveMember { workspace_id, user_id });
                            }
                        }
                    >
                        "Remove"
                    </button>
                }
                    .into_any()
            } else {
                view! { <span></span> }.into_any()
            }}
        </li>
    }
}

/// Creating invitation links, and the pending ones.
#[component]
fn Invitations(w: WorkspaceView) -> impl IntoView {
    let workspace_id = w.id;
    let invite = ServerAction::<Invite>::new();
    let error = action_error(invite);
    let revoke = ServerAction::<RevokeInvitation>::new();
    let listed = RwSignal::new(0u32);
    after_each(revoke, move || listed.update(|n| *n += 1));
    Effect::new(move |_| {
        if matches!(invite.value().get(), Some(Ok(_))) {
            listed.update(|n| *n += 1);
        }
    });
    let pending = Resource::new(move || listed.get(), move |_| list_invitations(workspace_id));
    let roles: Vec<Role> = Role::ALL.into_iter().filter(|r| *r != Role::Owner && *r >= w.role).collect();
    let link = move || {
        let created = invite.value().get()?.ok()?;
        let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
        Some(format!("{origin}{}", created.path))
    };
    view! {
        <section class="panel">
            <h2>"Invite people"</h2>
            <p class="muted">"Anyone with the link can join once, with the role you choose, until it expires."</p>
            <ActionForm action=invite>
                <FormError error/>
                <input type="hidden" name="workspace_id" value=workspace_id.to_string()/>
                <div class="row">
                    <label>
                        "Role"
                        <select name="role">
                            {roles
                                .iter()
                                .map(|r| view! { <option value=r.as_str() selected=*r == Role::Member>{r.label()}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <label>
                        "Expires after"
                        <select name="days">
                            <option value="1">"1 day"</option>
                            <option value="7" selected>"7 days"</option>
                            <option value="30">"30 days"</option>
                        </select>
                    </label>
                    <label class="grow">
                        "Only for this email (optional)"
                        <input type="email" name="email" placeholder="colleague@example.com"/>
                    </label>
                </div>
                <Submit pending=invite.pending() label="Create invitation link" busy="Creating…"/>
            </ActionForm>
            {move || {
                link()
                    .map(|url| {
                        view! {
                            <div class="invite-link" role="status">
                                <CopyField label="Invitation link — send it to the person you invite" value=url testid="invite-link"/>
                            </div>
                        }
                        .into_any()
                    })
            }}
            <h3>"Pending invitations"</h3>
            {loaded(
                pending,
                move |list| {
                    if list.is_empty() {
                        return view! { <p class="muted">"No pending invitations."</p> }.into_any();
                    }
                            view! {
                                <ul class="invite-list">
                                    {list
                                        .into_iter()
                                        .map(|i| {
                                            let id: Uuid = i.id;
                                            view! {
                                                <li>
                                                    <span class="badge">{i.role.label()}</span>
                                                    <span>{i.email.clone().unwrap_or_else(|| "Anyone with the link".into())}</span>
                                                    <small class="muted">
                                                        "by " {i.invited_by.clone()} " · expires " {short_date(&i.expires_at)}
                                                    </small>
                                                    <button class="ghost danger" on:click=move |_| {
                                                        if confirm("Withdraw this invitation? Its link will stop working.") {
                                                            revoke.dispatch(RevokeInvitation { workspace_id, invitation_id: id });
                                                        }
                                                    }>"Withdraw"</button>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                        .into_any()
                },
            )}
        </section>
    }
}
