//! Routes whose code stays out of the first download. Most visitors read their journal; the
//! editor, the admin dashboard, the sign-in pages and import/export are loaded (as separate wasm
//! chunks, `cargo leptos build --split`) the first time someone opens one. On the server they
//! render like any other page.
//!
//! Each page is wrapped in a [`LazyRoute`] with no route data of its own: the pages load their
//! data themselves, as they always did.

use super::admin::{
    audit::AdminAuditPage, signup::AdminSignupPage, users::AdminUserPage, users::AdminUsersPage,
    AdminPage,
};
use super::editor::{EditEntryPage, NewEntryPage};
use super::register::RegisterPage;
use super::set_password::SetPasswordPage;
use super::settings::SettingsPage;
use super::transfer::TransferPage;
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
