//! Diesel table definitions, shared by the SQLite and PostgreSQL backends: the two dialects'
//! migrations (`migrations/sqlite`, `migrations/postgres`) create the same columns and types.

diesel::table! {
    users (id) {
        id -> Text,
        webauthn_id -> Text,
        display_name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        passkey -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    vault_entries (user_id) {
        user_id -> Text,
        key_id -> Text,
        jwe -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        logo_url -> Nullable<Text>,
        redirect_uris -> Text,
        secret_hash -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        user_id -> Text,
        client_id -> Text,
        scopes -> Text,
        models -> Text,
        budget_microusd -> Nullable<BigInt>,
        rpm -> Nullable<Integer>,
        expires_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    tokens (hash) {
        hash -> Text,
        kind -> Text,
        grant_id -> Text,
        family -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    answered_requests (id) {
        id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    auth_codes (hash) {
        hash -> Text,
        grant_id -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        code_challenge -> Text,
        scopes -> Text,
        nonce -> Nullable<Text>,
        auth_time -> BigInt,
        family -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        replayed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        passkey_id -> Text,
        auth_time -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    ceremonies (id) {
        id -> Text,
        kind -> Text,
        user_id -> Nullable<Text>,
        state -> Text,
        payload -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    usage_months (grant_id, month) {
        grant_id -> Text,
        month -> Text,
        requests -> BigInt,
        input_tokens -> BigInt,
        cached_tokens -> BigInt,
        output_tokens -> BigInt,
        spent_microusd -> BigInt,
        reserved_microusd -> BigInt,
        unpriced_requests -> BigInt,
    }
}

diesel::table! {
    budget_reservations (id) {
        id -> Text,
        grant_id -> Text,
        month -> Text,
        amount -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        user_id -> Text,
        kind -> Text,
        client_id -> Nullable<Text>,
        grant_id -> Nullable<Text>,
        detail -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        key_id -> Text,
        private_jwe -> Text,
        public_jwk -> Text,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(vault_entries -> users (user_id));
diesel::joinable!(grants -> users (user_id));
diesel::joinable!(grants -> clients (client_id));
diesel::joinable!(tokens -> grants (grant_id));
diesel::joinable!(usage_months -> grants (grant_id));
diesel::joinable!(budget_reservations -> grants (grant_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    passkeys,
    vault_entries,
    clients,
    grants,
    tokens,
    answered_requests,
    auth_codes,
    sessions,
    ceremonies,
    usage_months,
    budget_reservations,
    audit_events,
    signing_keys,
);
