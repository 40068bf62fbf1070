//! The fixed confirmations the dashboard shows after an action (`/account?done=…`), and the
//! redirect that asks for one. They sit with the page infrastructure because the account pages
//! and the passkey ceremonies (adding a passkey) both end on the dashboard.

use axum::response::{IntoResponse, Redirect, Response};

/// The confirmation the dashboard shows after an action (`/account?done=…`). Only these fixed
/// messages can appear, so the query string cannot put words on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    Revoked,
    LimitsSaved,
    LimitsUnchanged,
    KeyReplaced,
    PasskeyAdded,
    PasskeyRenamed,
    PasskeyRemoved,
}

impl Done {
    const ALL: [Done; 7] = [
        Done::Revoked,
        Done::LimitsSaved,
        Done::LimitsUnchanged,
        Done::KeyReplaced,
        Done::PasskeyAdded,
        Done::PasskeyRenamed,
        Done::PasskeyRemoved,
    ];

    fn code(self) -> &'static str {
        match self {
            Done::Revoked => "revoked",
            Done::LimitsSaved => "limits_saved",
            Done::LimitsUnchanged => "limits_unchanged",
            Done::KeyReplaced => "key_replaced",
            Done::PasskeyAdded => "passkey_added",
            Done::PasskeyRenamed => "passkey_renamed",
            Done::PasskeyRemoved => "passkey_removed",
        }
    }

    /// The words shown.
    pub fn message(self) -> &'static str {
        match self {
            Done::Revoked => "The app was revoked. Its requests with your key stop now.",
            Done::LimitsSaved => "The new limits apply from the app's next request.",
            Done::LimitsUnchanged => "Nothing to save: the limits are as they were.",
            Done::KeyReplaced => {
                "Your new OpenAI key is in the vault. Every app you allowed now uses it; they \
                 need nothing from you."
            }
            Done::PasskeyAdded => "Your new passkey is ready. You can sign in with it now.",
            Done::PasskeyRenamed => "The passkey was renamed.",
            Done::PasskeyRemoved => "The passkey was removed. It no longer opens your account.",
        }
    }

    /// The part of the page the confirmation belongs to.
    pub fn section(self) -> &'static str {
        match self {
            Done::Revoked | Done::LimitsSaved | Done::LimitsUnchanged => "apps",
            Done::KeyReplaced => "key",
            Done::PasskeyAdded | Done::PasskeyRenamed | Done::PasskeyRemoved => "passkeys",
        }
    }

    /// The confirmation a `?done=` value names, if any.
    pub fn parse(code: &str) -> Option<Done> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }

    /// Where the browser goes after the action: the dashboard with this confirmation.
    pub fn location(self) -> String {
        format!("/account?done={}#{}", self.code(), self.section())
    }

    /// The redirect to [`Done::location`] (303, so the reload does not repeat the POST).
    pub fn redirect(self) -> Response {
        Redirect::to(&self.location()).into_response()
    }
}
