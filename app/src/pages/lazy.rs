//! Routes whose code stays out of the first download. The first wasm module holds the frame
//! around every page (header, flash messages, router), the home page, and the two pages people
//! open most: the journal and an entry. Every other page (tags, calendar, trash, the editor, the
//! admin dashboard, the login and sign-in pages, import/export) is a separate wasm chunk (`cargo
//! leptos build --split`), fetched the first time someone opens that page: in-app, or before
//! hydrating it after a full page load. On the server they render like any other page.
//!
//! Why the journal and the entry page stay in the first module: made lazy too, the first module
//! shrank from 369 to 259 KiB (brotli), but a full load of the journal then fetched 110 small
//! wasm chunks (the code it shares with the other pages, which the splitter cuts into pieces)
//! before it could hydrate, and Lighthouse's mobile score for it fell from 95 to 71.
//!
//! Each page is wrapped in a [`LazyRoute`] with no route data of its own: the pages load their
//! data themselves, as they always did. So the first in-app visit to one of these pages fetches
//! its chunk, then its data; later visits have the chunk already.

use super::admin::{
    audit::AdminAuditPage, signup::AdminSignupPage, users::AdminUserPage, users::AdminUsersPage,
    AdminPage,
};
use super::calendar::CalendarPage;
use super::editor::{EditEntryPage, NewEntryPage};
use super::login::LoginPage;
use super::login_error::LoginErrorPage;
use super::register::RegisterPage;
use super::set_password::SetPasswordPage;
use super::settings::SettingsPage;
use super::tags::TagsPage;
use super::transfer::TransferPage;
use super::trash::TrashPage;
use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

/// `lazy_page!(Route => Page)`: a lazily loaded route that shows the component `Page`.
macro_rules! lazy_page {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        #[doc = concat!("The lazily loaded route of [`", stringify!($page), "`].")]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                let $route = this;
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

lazy_page! {
    LoginRoute => LoginPage,
    LoginErrorRoute => LoginErrorPage,
    TagsRoute => TagsPage,
    CalendarRoute => CalendarPage,
    TrashRoute => TrashPage,
    AdminRoute => AdminPage,
    AdminUsersRoute => AdminUsersPage,
    AdminUserRoute => AdminUserPage,
    AdminAuditRoute => AdminAuditPage,
    AdminSignupRoute => AdminSignupPage,
    NewEntryRoute => NewEntryPage,
    EditEntryRoute => EditEntryPage,
    SettingsRoute => SettingsPage,
    RegisterRoute => RegisterPage,
    SetPasswordRoute => SetPasswordPage,
    TransferRoute => TransferPage,
}
