//! `/register`: create a local account with an email and a password (only with
//! `QUIRE_PASSWORD_LOGIN=on`, and only while sign-up is open). A refused form comes back with the
//! name and email kept and a message next to each field that needs attention.

use crate::auth::login_options;
use crate::auth::redirect::SafeRedirect;
use crate::session::UserContext;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

pub(crate) use crate::auth::local::problem_message;

/// Problem codes from the `error` query parameter (comma-separated).
pub(crate) fn problem_codes(raw: Option<String>) -> Vec<String> {
    raw.unwrap_or_default()
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The messages among `codes` that belong to `field`.
pub(crate) fn field_problems(codes: &[String], field: &str) -> Vec<&'static str> {
    codes
        .iter()
        .filter(|c| c.starts_with(field))
        .map(|c| problem_message(c))
        .collect()
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let current = UserContext::get();
    let query = use_query_map();
    let options = Resource::new_blocking(|| (), |_| login_options());
    let next = move || {
        SafeRedirect::parse_or_default(query.read().get("next").as_deref())
            .as_str()
            .to_owned()
    };
    view! {
        <Title text="Create an account"/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let enabled = options.await.map(|o| o.password_login).unwrap_or(false);
                match current.0.await {
                    Ok(Some(_)) => view! { <Redirect path=next()/> }.into_any(),
                    _ if !enabled => view! {
                        <section class="page narrow">
                            <h1>"Create an account"</h1>
                            <p>"This Quire does not use email-and-password accounts. Log in with your identity provider; your account is created the first time."</p>
                            <p><a class="button" href="/login">"Go to log in"</a></p>
                        </section>
                    }.into_any(),
                    _ => view! { <RegisterForm next=next()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RegisterForm(next: String) -> impl IntoView {
    let query = use_query_map();
    let codes = problem_codes(query.read_untracked().get("error"));
    let name = query.read_untracked().get("name").unwrap_or_default();
    let email = query.read_untracked().get("email").unwrap_or_default();
    let until = query
        .read_untracked()
        .get("until")
        .and_then(|u| u.parse::<i64>().ok());
    let mut general: Vec<String> = codes
        .iter()
        .filter(|c| ["email_taken", "signup_closed", "domain"].contains(&c.as_str()))
        .map(|c| problem_message(c).to_owned())
        .collect();
    if let Some(until) = until {
        general.push(format!(
            "Too many attempts from your network. You can try again {}.",
            crate::auth::local::try_again_phrase(until, crate::auth::local::unix_now())
        ));
    }
    let name_problems = field_problems(&codes, "name");
    let email_problems = field_problems(&codes, "email_invalid");
    let password_problems = field_problems(&codes, "password");
    let login = format!(
        "/login?auto=0&next={}",
        crate::auth::redirect::encode_query_value(&next)
    );
    view! {
        <section class="page narrow login-card">
            <h1>"Create your Quire account"</h1>
            {(!general.is_empty()).then(|| view! {
                <div class="notice notice-error" role="alert">
                    {general.into_iter().map(|m| view! { <p>{m}</p> }).collect_view()}
                </div>
            })}
            <form method="post" action="/api/auth/register" class="stack" aria-label="Create an account">
                <input type="hidden" name="next" value=next/>
                <div class="field">
                    <label for="register-name">"Your name"</label>
                    <input id="register-name" name="name" autocomplete="name" required maxlength="100" value=name
                        aria-invalid=(!name_problems.is_empty()).then_some("true") aria-describedby="register-name-error"/>
                    <FieldProblems id="register-name-error" messages=name_problems/>
                </div>
                <div class="field">
                    <label for="register-email">"Email"</label>
                    <input id="register-email" name="email" type="email" autocomplete="username" required maxlength="254" value=email
                        aria-invalid=(!email_problems.is_empty()).then_some("true") aria-describedby="register-email-error"/>
                    <FieldProblems id="register-email-error" messages=email_problems/>
                </div>
                <NewPasswordFields prefix="register" problems=password_problems/>
                <button type="submit" class="button">"Create account"</button>
            </form>
            <p class="hint">"Already have an account? " <a href=login>"Log in"</a></p>
        </section>
    }
}

/// The problems of one field, announced with it.
#[component]
pub(crate) fn FieldProblems(id: &'static str, messages: Vec<&'static str>) -> impl IntoView {
    view! {
        <p class="field-error" id=id role=(!messages.is_empty()).then_some("alert")>
            {messages.join(" ")}
        </p>
    }
}

/// "Password" and "Repeat password", with the rules said up front.
#[component]
pub(crate) fn NewPasswordFields(
    prefix: &'static str,
    problems: Vec<&'static str>,
    #[prop(optional)] new_label: Option<&'static str>,
) -> impl IntoView {
    let label = new_label.unwrap_or("Password");
    let invalid = (!problems.is_empty()).then_some("true");
    let (first, again, hint, error) = match prefix {
        "settings" => (
            "settings-password",
            "settings-password-again",
            "settings-password-hint",
            "settings-password-error",
        ),
        "set" => (
            "set-password",
            "set-password-again",
            "set-password-hint",
            "set-password-error",
        ),
        _ => (
            "register-password",
            "register-password-again",
            "register-password-hint",
            "register-password-error",
        ),
    };
    view! {
        <div class="field">
            <label for=first>{label}</label>
            <input id=first name="password" type="password" autocomplete="new-password" required minlength="12" maxlength="256"
                aria-invalid=invalid aria-describedby=format!("{hint} {error}")/>
            <p class="hint" id=hint>"At least 12 characters. A few unrelated words make a strong password that is easy to remember."</p>
            <FieldProblems id=error messages=problems/>
        </div>
        <div class="field">
            <label for=again>{format!("Repeat {}", label.to_lowercase())}</label>
            <input id=again name="password_again" type="password" autocomplete="new-password" required maxlength="256"/>
        </div>
    }
}
