//! The person's authenticator: webauthn-authenticator-rs's `SoftPasskey` (user verification
//! claimed, as `SoftPasskey::new(true)`), made to behave like a discoverable credential.
//!
//! SoftPasskey refuses `residentKey: required` and can only answer challenges that list its
//! credential. A real passkey stores the credential with its user handle and finds it on its
//! own; this wrapper does the same bookkeeping: it registers without the resident-key flag,
//! remembers credential id + user handle per relying party, fills in the allow list for
//! usernameless challenges and returns the user handle with the assertion. Keyward sees exactly
//! what it would see from a browser with a real passkey.

use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, WebauthnAuthenticator as _, WebauthnCError,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{
    AllowCredentials, PublicKeyCredentialCreationOptions, PublicKeyCredentialRequestOptions,
};

/// One stored credential.
#[derive(Clone)]
struct Stored {
    rp_id: String,
    credential_id: Vec<u8>,
    user_handle: Vec<u8>,
}

/// A passkey authenticator holding discoverable credentials.
pub struct Passkeys {
    soft: SoftPasskey,
    stored: Vec<Stored>,
}

impl Default for Passkeys {
    fn default() -> Self {
        Passkeys {
            soft: SoftPasskey::new(true),
            stored: Vec::new(),
        }
    }
}

impl Passkeys {
    /// `navigator.credentials.create()` as the page at `origin` calls it.
    pub fn create(
        &mut self,
        origin: &str,
        options: CreationChallengeResponse,
    ) -> Result<RegisterPublicKeyCredential, WebauthnCError> {
        self.do_registration(Url::parse(origin).expect("origin"), options)
    }

    /// `navigator.credentials.get()` as the page at `origin` calls it.
    pub fn get(
        &mut self,
        origin: &str,
        options: RequestChallengeResponse,
    ) -> Result<PublicKeyCredential, WebauthnCError> {
        self.do_authentication(Url::parse(origin).expect("origin"), options)
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.stored.is_empty()
    }
}

impl AuthenticatorBackend for Passkeys {
    fn perform_register(
        &mut self,
        origin: Url,
        mut options: PublicKeyCredentialCreationOptions,
        timeout_ms: u32,
    ) -> Result<RegisterPublicKeyCredential, WebauthnCError> {
        assert!(
            options
                .authenticator_selection
                .as_ref()
                .is_some_and(|s| s.require_resident_key),
            "Keyward must ask for a discoverable credential"
        );
        let (rp_id, user_handle) = (options.rp.id.clone(), options.user.id.clone());
        if let Some(selection) = options.authenticator_selection.as_mut() {
            selection.require_resident_key = false;
            selection.resident_key = None;
        }
        let credential = self.soft.perform_register(origin, options, timeout_ms)?;
        self.stored.push(Stored {
            rp_id,
            credential_id: credential.raw_id.to_vec(),
            user_handle,
        });
        Ok(credential)
    }

    fn perform_auth(
        &mut self,
        origin: Url,
        mut options: PublicKeyCredentialRequestOptions,
        timeout_ms: u32,
    ) -> Result<PublicKeyCredential, WebauthnCError> {
        let discoverable = options.allow_credentials.is_empty();
        if discoverable {
            options.allow_credentials = self
                .stored
                .iter()
                .filter(|s| s.rp_id == options.rp_id)
                .map(|s| AllowCredentials {
                    type_: "public-key".into(),
                    id: s.credential_id.clone(),
                    transports: None,
                })
                .collect();
        }
        let mut credential = self.soft.perform_auth(origin, options, timeout_ms)?;
        let used: Vec<u8> = credential.raw_id.to_vec();
        credential.response.user_handle = self
            .stored
            .iter()
            .find(|s| s.credential_id == used)
            .map(|s| s.user_handle.clone());
        Ok(credential)
    }
}
