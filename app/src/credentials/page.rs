//! The Credentials section of workspace settings: names, who added them and when; add one,
//! replace a value, change the hosts it may be sent to, delete one. Values are typed in and never
//! shown again.

use leptos::html;
use leptos::prelude::*;
use uuid::Uuid;

use crate::credentials::api::{
    CreateCredential, DeleteCredential, ReplaceCredential, SetCredentialHosts, list_credentials,
};
use crate::credentials::model::CredentialView;
use crate::ui::form::{FormError, Submit, action_error, confirm, invalid, loaded, short_date};
use crate::ui::toast::toast_errors;
use crate::workspaces::model::{Permission, WorkspaceView};

#[component]
pub fn CredentialsSection(w: WorkspaceView) -> impl IntoView {
    let workspace_id = w.id;
    let can_manage = w.can(Permission::EditSettings);
    let create = ServerAction::<CreateCredential>::new();
    let replace = ServerAction::<ReplaceCredential>::new();
    let delete = ServerAction::<DeleteCredential>::new();
    let bind = ServerAction::<SetCredentialHosts>::new();
    toast_errors(delete);
    // A refused change of hosts keeps its form open with the message: only a saved one reloads.
    let bound = Memo::new(move |last: Option<&usize>| match bind.value().get() {
        Some(Ok(())) => bind.version().get(),
        _ => last.copied().unwrap_or(0),
    });
    let changed = move || (create.version().get(), replace.version().get(), delete.version().get(), bound.get());
    let list = Resource::new(changed, move |_| list_credentials(workspace_id));
    let error = action_error(create);
    let form = NodeRef::<html::Form>::new();
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_)))
            && let Some(f) = form.get_untracked()
        {
            f.reset();
        }
    });
    view! {
        <section class="panel credentials" aria-labelledby="credentials-title">
            <h2 id="credentials-title">"Credentials"</h2>
            <p class="muted">
                "Secrets that steps use by name — an AI prompt's API key, an HTTP request's bearer token. They are stored encrypted and never shown again."
            </p>
            {loaded(list, move |items| view! { <CredentialList items workspace_id can_manage replace bind delete/> })}
            {can_manage
                .then(|| {
                    view! {
                        <h3>"Add a credential"</h3>
                        <ActionForm action=create node_ref=form>
                            <FormError error/>
                            <input type="hidden" name="workspace_id" value=workspace_id.to_string()/>
                            <div class="row">
                                <label>
                                    "Name"
                                    <input name="name" required maxlength="80" placeholder="openai" autocomplete="off" aria-invalid=invalid(error, "name")/>
                                </label>
                                <label class="grow">
                                    "Secret value"
                                    <input name="value" type="password" required autocomplete="new-password" aria-invalid=invalid(error, "value")/>
                                </label>
                            </div>
                            <label>
                                "Hosts it may be sent to"
                                <input name="hosts" required placeholder="api.openai.com, *.example.com" autocomplete="off" aria-invalid=invalid(error, "hosts") aria-describedby="hosts-help"/>
                            </label>
                            <p class="muted small" id="hosts-help">
                                "Steps send the value only to these hosts; a step calling any other fails. *.example.com covers its subdomains."
                            </p>
                            <Submit pending=create.pending() label="Add credential" busy="Adding…"/>
                        </ActionForm>
                    }
                })}
        </section>
    }
}

#[component]
fn CredentialList(
    items: Vec<CredentialView>,
    workspace_id: Uuid,
    can_manage: bool,
    replace: ServerAction<ReplaceCredential>,
    bind: ServerAction<SetCredentialHosts>,
    delete: ServerAction<DeleteCredential>,
) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="muted" data-testid="no-credentials">"No credentials yet."</p> }.into_any();
    }
    let replacing = RwSignal::new(None::<Uuid>);
    let binding = RwSignal::new(None::<Uuid>);
    let replace_error = action_error(replace);
    let bind_error = action_error(bind);
    Effect::new(move |_| {
        if matches!(replace.value().get(), Some(Ok(()))) {
            replacing.set(None);
        }
        if matches!(bind.value().get(), Some(Ok(()))) {
            binding.set(None);
        }
    });
    view! {
        <ul class="credential-list" data-testid="credentials">
            {items
                .into_iter()
                .map(|c| {
                    let id = c.id;
                    let name = c.name.clone();
                    let hosts = c.hosts.join(", ");
                    let bound = if c.hosts.is_empty() {
                        "Not bound to any host: steps can't use it yet".to_owned()
                    } else {
                        format!("Sent only to {hosts}")
                    };
                    view! {
                        <li>
                            <span class="credential-name">{c.name.clone()}</span>
                            <span class="muted">{format!("{} · {}", c.created_by, short_date(&c.updated_at))}</span>
                            <span class="credential-hosts muted small">{bound}</span>
                            {can_manage
                                .then(|| {
                                    view! {
                                        <button type="button" class="ghost" on:click=move |_| binding.set(Some(id))>"Change hosts"</button>
                                        <button type="button" class="ghost" on:click=move |_| replacing.set(Some(id))>"Replace value"</button>
                                        <button type="button" class="ghost danger" on:click=move |_| {
                                            if confirm(&format!("Delete the credential “{name}”? Steps that use it will fail until one with this name exists again.")) {
                                                delete.dispatch(DeleteCredential { workspace_id, credential_id: id });
                                            }
                                        }>"Delete"</button>
                                    }
                                })}
                            {move || (replacing.get() == Some(id)).then(|| view! {
                                <ActionForm action=replace attr:class="replace">
                                    <FormError error=replace_error/>
                                    <input type="hidden" name="workspace_id" value=workspace_id.to_string()/>
                                    <input type="hidden" name="credential_id" value=id.to_string()/>
                                    <label class="grow">
                                        "New value"
                                        <input name="value" type="password" required autocomplete="new-password"/>
                                    </label>
                                    <Submit pending=replace.pending() label="Save" busy="Saving…"/>
                                    <button type="button" class="ghost" on:click=move |_| replacing.set(None)>"Cancel"</button>
                                </ActionForm>
                            })}
                            {move || (binding.get() == Some(id)).then(|| {
                                let hosts = hosts.clone();
                                view! {
                                <ActionForm action=bind attr:class="replace">
                                    <FormError error=bind_error/>
                                    <input type="hidden" name="workspace_id" value=workspace_id.to_string()/>
                                    <input type="hidden" name="credential_id" value=id.to_string()/>
                                    <label class="grow">
                                        "Hosts"
                                        <input name="hosts" required value=hosts autocomplete="off" aria-invalid=invalid(bind_error, "hosts")/>
                                    </label>
                                    <Submit pending=bind.pending() label="Save hosts" busy="Saving…"/>
                                    <button type="button" class="ghost" on:click=move |_| binding.set(None)>"Cancel"</button>
                                </ActionForm>
                                }
                            })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
