//! The screens before sign-in: sign in, first-run setup, open sign-up.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::api::{Login, Setup, Signup, get_sign_in_options};
use crate::error::AppError;
use crate::ui::form::{FormError, Submit, action_error, invalid};
use crate::validate_hint::MIN_PASSWORD_HINT;

/// The centred card every signed-out screen sits in.
#[component]
pub fn AuthFrame(
    title: &'static str,
    #[prop(optional)] subtitle: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <Title text=format!("{title} · Flowdeck")/>
        <main class="center-page">
            <section class="card auth-card">
                <div class="brand big">
                    <span class="logo" aria-hidden="true"></span>
                    "Flowdeck"
                </div>
                <h1>{title}</h1>
                {subtitle.map(|s| view! { <p class="muted">{s}</p> })}
                {children()}
            </section>
        </main>
    }
}

/// Name, email and new-password fields of a new account, marked when the error names them.
#[component]
pub fn AccountFields(
    error: Signal<Option<AppError>>,
    #[prop(optional, into)] email: String,
    #[prop(default = "Password")] password_label: &'static str,
) -> impl IntoView {
    view! {
        <label>
            "Your name"
            <input name="name" autocomplete="name" required maxlength="100" autofocus aria-invalid=invalid(error, "name")/>
        </label>
        <label>
            "Email"
            <input type="email" name="email" value=email autocomplete="username" required aria-invalid=invalid(error, "email")/>
        </label>
        <label>
            {password_label}
            <input type="password" name="password" autocomplete="new-password" required minlength="8" aria-invalid=invalid(error, "password")/>
            <small class="hint">{MIN_PASSWORD_HINT}</small>
        </label>
    }
}

/// Sign in with email and password.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = action_error(login);
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let options = Resource::new(|| (), |_| get_sign_in_options());
    view! {
        <AuthFrame title="Sign in">
            <ActionForm action=login>
                <FormError error/>
                <label>
                    "Email"
                    <input type="email" name="email" autocomplete="username" required autofocus aria-invalid=invalid(error, "email")/>
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <input type="hidden" name="next" value=next/>
                <Submit pending=login.pending() label="Sign in" busy="Signing in…"/>
            </ActionForm>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    options
                        .await
                        .ok()
                        .filter(|o| o.open_signup)
                        .map(|_| view! { <p class="muted">"New here? " <a href="/signup">"Create an account"</a></p> })
                })}
            </Transition>
        </AuthFrame>
    }
}

/// First run: the owner account and the first workspace.
#[component]
pub fn SetupPage() -> impl IntoView {
    let setup = ServerAction::<Setup>::new();
    let error = action_error(setup);
    view! {
        <AuthFrame title="Welcome to Flowdeck" subtitle="Create the owner account and your first workspace.">
            <ActionForm action=setup>
                <FormError error/>
                <AccountFields error/>
                <label>
                    "Workspace name"
                    <input name="workspace_name" required maxlength="80" placeholder="Acme Operations" aria-invalid=invalid(error, "workspace_name")/>
                </label>
                <Submit pending=setup.pending() label="Create account and workspace" busy="Creating…"/>
            </ActionForm>
        </AuthFrame>
    }
}

/// Open sign-up, when an administrator allows it.
#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<Signup>::new();
    let error = action_error(signup);
    view! {
        <AuthFrame title="Create your account">
            <ActionForm action=signup>
                <FormError error/>
                <AccountFields error/>
                <Submit pending=signup.pending() label="Create account" busy="Creating…"/>
            </ActionForm>
            <p class="muted">"Already have an account? " <a href="/login">"Sign in"</a></p>
        </AuthFrame>
    }
}
