//! `/invite/:token`: the page an invitation link opens.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::auth::api::current_viewer;
use crate::auth::{AccountFields, AuthFrame};
use crate::ui::form::{FormError, Loading, Submit, action_error, short_date};
use crate::workspaces::api::{AcceptInvitation, SignupWithInvitation, get_invitation_info};
use crate::workspaces::model::InvitationInfo;

/// Join a workspace: signed in, with one click; otherwise by creating an account.
#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let info = Resource::new(token, |t| async move { (get_invitation_info(t).await, current_viewer().await) });
    view! {
        <AuthFrame title="You are invited">
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    let (info, me) = info.await;
                    match info {
                        Err(e) => {
                            view! {
                                <p class="form-error" role="alert">{e.to_string()}</p>
                                <p><a href="/login">"Go to sign in"</a></p>
                            }
                                .into_any()
                        }
                        Ok(info) => match me.ok().flatten() {
                            Some(v) => view! { <JoinAsUser info token=token() name=v.name/> }.into_any(),
                            None => view! { <JoinNewUser info token=token()/> }.into_any(),
                        },
                    }
                })}
            </Transition>
        </AuthFrame>
    }
}

#[component]
fn Offer(info: InvitationInfo) -> impl IntoView {
    view! {
        <p class="offer">
            <strong>{info.invited_by}</strong>
            " invites you to join "
            <strong data-testid="invite-workspace">{info.workspace_name}</strong>
            " as " {info.role.label().to_lowercase()} "."
            <small class="muted">" The link is valid until " {short_date(&info.expires_at)} "."</small>
        </p>
    }
}

#[component]
fn JoinAsUser(info: InvitationInfo, token: String, name: String) -> impl IntoView {
    let accept = ServerAction::<AcceptInvitation>::new();
    let error = action_error(accept);
    view! {
        <Offer info/>
        <ActionForm action=accept>
            <FormError error/>
            <input type="hidden" name="token" value=token/>
            <Submit pending=accept.pending() label="Join workspace" busy="Joining…"/>
        </ActionForm>
        <p class="muted">"Signed in as " {name} "."</p>
    }
}

#[component]
fn JoinNewUser(info: InvitationInfo, token: String) -> impl IntoView {
    let signup = ServerAction::<SignupWithInvitation>::new();
    let error = action_error(signup);
    let login_href = format!("/login?next=/invite/{token}");
    let email = info.email.clone().unwrap_or_default();
    view! {
        <Offer info/>
        <ActionForm action=signup>
            <FormError error/>
            <input type="hidden" name="token" value=token/>
            <AccountFields error email password_label="Choose a password"/>
            <Submit pending=signup.pending() label="Create account and join" busy="Joining…"/>
        </ActionForm>
        <p class="muted">"Already have an account? " <a href=login_href>"Sign in to accept"</a></p>
    }
}
