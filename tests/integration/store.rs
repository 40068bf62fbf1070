//! The store suite: every query family, run against SQLite and PostgreSQL alike.

use std::sync::Arc;

use keyward::clock::now;
use keyward::config::MasterKeySource;
use keyward::store::ceremonies::Ceremony;
use keyward::store::clients::{Client, ClientKind};
use keyward::store::codes::{AuthCode, CodeClaim};
use keyward::store::grants::{ClientActivity, Grant, Limits};
use keyward::store::passkeys::PasskeyRow;
use keyward::store::reservations::NewReservation;
use keyward::store::sessions::SessionRow;
use keyward::store::tokens::{RefreshClaim, StoredTokenKind, TokenRow};
use keyward::store::usage::Consumption;
use keyward::store::users::User;
use keyward::store::{Store, new_id};
use keyward::vault::rotate::rewrap_all;
use keyward::vault::{KeyRing, MasterKey, VaultError};
use keyward_testkit::on_both_backends;

async fn user(store: &Store) -> User {
    let u = User {
        id: new_id(),
        webauthn_id: new_id(),
        display_name: "Ada".into(),
        created_at: now(),
    };
    store.insert_user(&u).await.unwrap();
    u
}

async fn client(store: &Store, id: &str) -> Client {
    let c = Client {
        id: id.into(),
        kind: ClientKind::Registered,
        name: "Notes".into(),
        logo_url: Some("https://notes.example/logo.png".into()),
        redirect_uris: vec![
            "https://notes.example/cb".into(),
            "http://127.0.0.1/cb".into(),
        ],
        secret_hash: None,
        created_at: now(),
    };
    store.insert_client(&c).await.unwrap();
    c
}

async fn grant(store: &Store, limits: Limits) -> Grant {
    let u = user(store).await;
    let c = client(store, &new_id()).await;
    let g = Grant::new(
        &u.id,
        &c.id,
        vec!["openai.chat".into(), "offline_access".into()],
        limits,
        now(),
    );
    store.insert_grant(&g).await.unwrap();
    g
}

on_both_backends!(users_and_passkeys, |store| {
    let u = user(&store).await;
    assert_eq!(
        store.user(&u.id).await.unwrap().unwrap().display_name,
        "Ada"
    );
    assert_eq!(
        store
            .user_by_webauthn_id(&u.webauthn_id)
            .await
            .unwrap()
            .unwrap()
            .id,
        u.id
    );
    for (id, name) in [("cred-1", "Laptop"), ("cred-2", "Phone")] {
        store
            .insert_passkey(&PasskeyRow {
                id: id.into(),
                user_id: u.id.clone(),
                name: name.into(),
                passkey: "{}".into(),
                created_at: now(),
                last_used_at: None,
            })
            .await
            .unwrap();
    }
    assert!(
        store
            .rename_passkey(&u.id, "cred-1", "Work laptop")
            .await
            .unwrap()
    );
    let other = user(&store).await;
    assert!(
        !store
            .rename_passkey(&other.id, "cred-1", "stolen")
            .await
            .unwrap(),
        "renaming another's passkey"
    );
    store
        .passkey_used("cred-2", "{\"counter\":1}")
        .await
        .unwrap();
    let keys = store.passkeys_for_user(&u.id).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].name, "Work laptop");
    assert!(keys[1].last_used_at.is_some());
    assert!(
        !store.remove_passkey(&other.id, "cred-1").await.unwrap(),
        "removing another's passkey"
    );
    assert!(store.remove_passkey(&u.id, "cred-1").await.unwrap());
    assert!(
        !store.remove_passkey(&u.id, "cred-2").await.unwrap(),
        "the last passkey must stay"
    );
    assert_eq!(store.passkeys_for_user(&u.id).await.unwrap().len(), 1);
});

on_both_backends!(removing_passkeys_concurrently_keeps_one, |store| {
    let store = Arc::new(store);
    for round in 0..5 {
        let u = user(&store).await;
        for i in 0..2 {
            store
                .insert_passkey(&PasskeyRow {
                    id: format!("c{round}-{i}"),
                    user_id: u.id.clone(),
                    name: "k".into(),
                    passkey: "{}".into(),
                    created_at: now(),
                    last_used_at: None,
                })
                .await
                .unwrap();
        }
        let (first, second) = (format!("c{round}-0"), format!("c{round}-1"));
        let (a, b) = tokio::join!(
            store.remove_passkey(&u.id, &first),
            store.remove_passkey(&u.id, &second)
        );
        let removed = u8::from(a.unwrap()) + u8::from(b.unwrap());
        assert_eq!(removed, 1, "exactly one of two concurrent removals may win");
        assert_eq!(store.passkeys_for_user(&u.id).await.unwrap().len(), 1);
    }
});

on_both_backends!(clients_round_trip, |store| {
    let c = client(&store, "notes").await;
    assert_eq!(store.client("notes").await.unwrap().unwrap(), c);
    let origin = Client {
        id: "https://app.example".into(),
        kind: ClientKind::Origin,
        name: "app.example".into(),
        logo_url: None,
        redirect_uris: vec![],
        secret_hash: None,
        created_at: now(),
    };
    store.ensure_client(&origin).await.unwrap();
    store.ensure_client(&origin).await.unwrap();
    assert_eq!(
        store.clients(&[ClientKind::Registered]).await.unwrap(),
        vec![c]
    );
    assert_eq!(store.clients(&[ClientKind::Origin]).await.unwrap().len(), 1);
    assert!(store.delete_client("notes").await.unwrap());
    assert!(store.client("notes").await.unwrap().is_none());
    assert!(!store.delete_client("notes").await.unwrap());
});

on_both_backends!(client_activity_and_updates, |store| {
    let c = client(&store, "notes").await;
    client(&store, "unused").await;
    let t = now();
    let grant_for = |limits: Limits| {
        let store = store.clone();
        async move {
            let u = user(&store).await;
            let g = Grant::new(&u.id, "notes", vec!["openai.chat".into()], limits, t - 1000);
            store.insert_grant(&g).await.unwrap();
            g
        }
    };
    let live = grant_for(Limits::default()).await;
    let revoked = grant_for(Limits::default()).await;
    let expired = grant_for(Limits {
        expires_at: Some(t - 1),
        ..Default::default()
    })
    .await;
    store.touch_grant(&live.id, t - 100).await.unwrap();
    store.touch_grant(&revoked.id, t - 10).await.unwrap();
    store.revoke_grant(&revoked.id).await.unwrap();
    let activity = store.client_activity(t).await.unwrap();
    assert_eq!(
        activity["notes"],
        ClientActivity {
            active_grants: 1,
            last_used_at: Some(t - 10),
        },
        "revoked and expired ({}) grants are not active; the last use is any grant's",
        expired.id
    );
    assert!(!activity.contains_key("unused"), "no grants, no entry");

    // Name, logo and redirect URIs change; id, kind, secret and creation time never do.
    let changed = Client {
        name: "Notes 2".into(),
        logo_url: None,
        redirect_uris: vec!["https://notes.example/new".into()],
        secret_hash: Some("not written".into()),
        created_at: 1,
        ..c.clone()
    };
    assert!(store.update_client(&changed).await.unwrap());
    assert_eq!(
        store.client("notes").await.unwrap().unwrap(),
        Client {
            secret_hash: c.secret_hash.clone(),
            created_at: c.created_at,
            ..changed.clone()
        }
    );
    let nobody = Client {
        id: "nobody".into(),
        ..changed
    };
    assert!(!store.update_client(&nobody).await.unwrap());
});

on_both_backends!(grants_lifecycle, |store| {
    let limits = Limits {
        models: vec!["gpt-4o-mini".into()],
        budget_microusd: Some(5_000_000),
        rpm: Some(60),
        expires_at: Some(now() + 86_400),
    };
    let g = grant(&store, limits.clone()).await;
    let loaded = store.grant(&g.id).await.unwrap().unwrap();
    assert_eq!(loaded, g);
    assert!(loaded.is_active(now()));
    assert_eq!(
        store
            .active_grant_for(&g.user_id, &g.client_id, now())
            .await
            .unwrap()
            .unwrap()
            .id,
        g.id
    );
    let new_limits = Limits {
        rpm: Some(5),
        models: vec![],
        ..limits
    };
    assert!(
        store
            .update_grant(&g.id, &["openai.models".into()], &new_limits)
            .await
            .unwrap()
    );
    let loaded = store.grant(&g.id).await.unwrap().unwrap();
    assert_eq!(loaded.limits, new_limits);
    assert_eq!(loaded.scopes, vec!["openai.models".to_owned()]);
    store
        .insert_tokens(&[TokenRow::new(
            "grant-token".into(),
            StoredTokenKind::Access,
            &g.id,
            "f",
            None,
            now(),
        )])
        .await
        .unwrap();
    assert!(store.revoke_grant(&g.id).await.unwrap());
    let (token, _) = store
        .token_with_grant("grant-token")
        .await
        .unwrap()
        .unwrap();
    assert!(token.revoked_at.is_some(), "its tokens are revoked with it");
    assert!(
        !store.revoke_grant(&g.id).await.unwrap(),
        "revocation is idempotent"
    );
    assert!(!store.grant(&g.id).await.unwrap().unwrap().is_active(now()));
    assert!(
        store
            .active_grant_for(&g.user_id, &g.client_id, now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store
            .update_grant(&g.id, &[], &Limits::default())
            .await
            .unwrap(),
        "a revoked grant stays revoked"
    );
    // Expired grants are not active either.
    let expired = grant(
        &store,
        Limits {
            expires_at: Some(now() - 1),
            ..Default::default()
        },
    )
    .await;
    assert!(
        store
            .active_grant_for(&expired.user_id, &expired.client_id, now())
            .await
            .unwrap()
            .is_none()
    );
});

on_both_backends!(tokens_and_refresh_rotation, |store| {
    let g = grant(&store, Limits::default()).await;
    let rows = vec![
        TokenRow::new(
            "h-access".into(),
            StoredTokenKind::Access,
            &g.id,
            "fam",
            None,
            now(),
        ),
        TokenRow::new(
            "h-refresh".into(),
            StoredTokenKind::Refresh,
            &g.id,
            "fam",
            None,
            now(),
        ),
    ];
    store.insert_tokens(&rows).await.unwrap();
    let (t, loaded) = store.token_with_grant("h-access").await.unwrap().unwrap();
    assert_eq!(t.kind(), StoredTokenKind::Access);
    assert_eq!(loaded.id, g.id);
    assert!(matches!(
        store.claim_refresh_token("h-access", now()).await.unwrap(),
        RefreshClaim::Invalid
    ));
    assert!(matches!(
        store.claim_refresh_token("nope", now()).await.unwrap(),
        RefreshClaim::Invalid
    ));
    assert!(matches!(
        store.claim_refresh_token("h-refresh", now()).await.unwrap(),
        RefreshClaim::Claimed(..)
    ));
    assert!(matches!(
        store.claim_refresh_token("h-refresh", now()).await.unwrap(),
        RefreshClaim::Reused(..)
    ));
    assert_eq!(
        store.revoke_family("fam", now()).await.unwrap(),
        vec![g.id.clone()]
    );
    let (t, _) = store.token_with_grant("h-access").await.unwrap().unwrap();
    assert!(!t.is_live(now()));
    assert!(store.revoke_token("unknown").await.unwrap().is_none());
});

on_both_backends!(concurrent_refresh_has_one_winner, |store| {
    let g = grant(&store, Limits::default()).await;
    store
        .insert_tokens(&[TokenRow::new(
            "r".into(),
            StoredTokenKind::Refresh,
            &g.id,
            "f",
            None,
            now(),
        )])
        .await
        .unwrap();
    let claims =
        futures_util::future::join_all((0..8).map(|_| store.claim_refresh_token("r", now()))).await;
    let winners = claims
        .iter()
        .filter(|c| matches!(c, Ok(RefreshClaim::Claimed(..))))
        .count();
    assert_eq!(winners, 1);
});

on_both_backends!(codes_are_single_use, |store| {
    let g = grant(&store, Limits::default()).await;
    // Pending requests travel sealed in URLs; the store only marks answered ones.
    assert!(!store.request_answered("req-1").await.unwrap());
    assert!(
        store
            .mark_request_answered("req-1", now() + 600)
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_request_answered("req-1", now() + 600)
            .await
            .unwrap(),
        "a request is answered once"
    );
    assert!(store.request_answered("req-1").await.unwrap());
    assert!(store.mark_request_answered("old", now() - 1).await.unwrap());
    let code = |hash: &str, expires_at: i64| AuthCode {
        hash: hash.into(),
        grant_id: g.id.clone(),
        client_id: g.client_id.clone(),
        redirect_uri: "https://notes.example/cb".into(),
        code_challenge: "challenge".into(),
        scopes: "openai.chat".into(),
        nonce: Some("n".into()),
        auth_time: now(),
        family: "fam".into(),
        created_at: now(),
        expires_at,
        used_at: None,
        replayed_at: None,
    };
    store
        .insert_auth_code(&code("c1", now() + 60))
        .await
        .unwrap();
    store
        .insert_auth_code(&code("c2", now() - 1))
        .await
        .unwrap();
    assert!(
        matches!(store.claim_auth_code("c1", now()).await.unwrap(), CodeClaim::Claimed(c) if c.nonce.as_deref() == Some("n"))
    );
    assert!(
        !store.auth_code_replayed("c1").await.unwrap(),
        "a code spent once is not a replay"
    );
    assert!(
        matches!(store.claim_auth_code("c1", now()).await.unwrap(), CodeClaim::Replayed(c) if c.family == "fam")
    );
    assert!(
        store.auth_code_replayed("c1").await.unwrap(),
        "the redeemer can see that its code was replayed"
    );
    assert!(
        matches!(
            store.claim_auth_code("c2", now()).await.unwrap(),
            CodeClaim::Invalid
        ),
        "expired"
    );
    assert!(
        matches!(
            store.claim_auth_code("c3", now()).await.unwrap(),
            CodeClaim::Invalid
        ),
        "unknown"
    );
    store.purge_expired().await.unwrap();
    assert!(
        matches!(
            store.claim_auth_code("c1", now()).await.unwrap(),
            CodeClaim::Replayed(_)
        ),
        "spent codes are remembered"
    );
    assert!(
        store.request_answered("req-1").await.unwrap(),
        "answered marks are kept until their request expires"
    );
    assert!(!store.request_answered("old").await.unwrap());
});

on_both_backends!(sessions_and_ceremonies, |store| {
    let u = user(&store).await;
    for id in ["laptop", "phone"] {
        store
            .insert_passkey(&PasskeyRow {
                id: id.into(),
                user_id: u.id.clone(),
                name: id.into(),
                passkey: "{}".into(),
                created_at: now(),
                last_used_at: None,
            })
            .await
            .unwrap();
    }
    let s = SessionRow {
        id_hash: "sess".into(),
        user_id: u.id.clone(),
        passkey_id: "laptop".into(),
        auth_time: now(),
        created_at: now(),
        expires_at: now() + 3600,
    };
    store.insert_session(&s).await.unwrap();
    assert_eq!(store.session("sess").await.unwrap().unwrap().user_id, u.id);
    // A session ends with the passkey that opened it, and only with that one.
    store
        .insert_session(&SessionRow {
            id_hash: "by-phone".into(),
            passkey_id: "phone".into(),
            ..s.clone()
        })
        .await
        .unwrap();
    assert!(store.remove_passkey(&u.id, "phone").await.unwrap());
    assert!(store.session("by-phone").await.unwrap().is_none());
    assert!(store.session("sess").await.unwrap().is_some());
    store
        .insert_session(&SessionRow {
            id_hash: "old".into(),
            expires_at: now() - 1,
            ..s.clone()
        })
        .await
        .unwrap();
    assert!(
        store.session("old").await.unwrap().is_none(),
        "expired sessions are not returned"
    );
    store.delete_session("sess").await.unwrap();
    assert!(store.session("sess").await.unwrap().is_none());

    let c = Ceremony {
        id: "cer".into(),
        kind: "register".into(),
        user_id: None,
        state: "{}".into(),
        payload: Some("sealed".into()),
        created_at: now(),
        expires_at: now() + 300,
    };
    store.insert_ceremony(&c).await.unwrap();
    assert!(
        store
            .take_ceremony("cer", "authenticate")
            .await
            .unwrap()
            .is_none(),
        "kind must match"
    );
    assert_eq!(
        store
            .take_ceremony("cer", "register")
            .await
            .unwrap()
            .unwrap()
            .payload
            .as_deref(),
        Some("sealed")
    );
    assert!(
        store
            .take_ceremony("cer", "register")
            .await
            .unwrap()
            .is_none(),
        "a ceremony is taken once"
    );
    store
        .insert_ceremony(&Ceremony {
            id: "stale".into(),
            expires_at: now() - 1,
            ..c
        })
        .await
        .unwrap();
    assert!(
        store
            .take_ceremony("stale", "register")
            .await
            .unwrap()
            .is_none(),
        "expired ceremonies fail"
    );
});

on_both_backends!(budget_reservations_never_exceed_the_budget, |store| {
    let g = grant(&store, Limits::default()).await;
    let store = Arc::new(store);
    let want = |amount| NewReservation {
        grant_id: &g.id,
        month: "2026-11",
        amount,
        budget: 1_000,
        expires_at: now() + 300,
    };
    // 40 concurrent reservations of 100 against a budget of 1,000: exactly 10 fit.
    let results =
        futures_util::future::join_all((0..40).map(|_| store.reserve_budget(want(100)))).await;
    let granted: Vec<String> = results.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(granted.len(), 10);
    let m = store.usage_month(&g.id, "2026-11").await.unwrap();
    assert_eq!(m.reserved_microusd, 1_000);
    // Settling releases the reservation and adds the real cost.
    let used = Consumption {
        input_tokens: 10,
        cached_tokens: 2,
        output_tokens: 5,
        cost_microusd: Some(40),
    };
    store
        .settle_usage(&g.id, "2026-11", Some(&granted[0]), &used)
        .await
        .unwrap();
    store
        .settle_usage(
            &g.id,
            "2026-11",
            Some(&granted[1]),
            &Consumption {
                cost_microusd: None,
                ..used
            },
        )
        .await
        .unwrap();
    let m = store.usage_month(&g.id, "2026-11").await.unwrap();
    assert_eq!(
        (m.requests, m.spent_microusd, m.reserved_microusd),
        (2, 40, 800)
    );
    assert_eq!(
        (
            m.input_tokens,
            m.cached_tokens,
            m.output_tokens,
            m.unpriced_requests
        ),
        (20, 4, 10, 1)
    );
    assert!(store.reserve_budget(want(160)).await.unwrap().is_some());
    assert!(store.reserve_budget(want(1)).await.unwrap().is_none());
    // Another month starts from zero.
    assert_eq!(
        store
            .usage_month(&g.id, "2026-12")
            .await
            .unwrap()
            .spent_microusd,
        0
    );
});

on_both_backends!(audit_log_is_newest_first, |store| {
    use keyward::store::audit::NewAuditEvent;
    let u = user(&store).await;
    for kind in ["sign_in", "consent", "revoke"] {
        store
            .record_audit(&NewAuditEvent::new(&u.id, kind, "detail"))
            .await
            .unwrap();
    }
    let events = store.audit_for_user(&u.id, 2).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["revoke", "consent"]);
});

on_both_backends!(deleting_a_user_removes_their_data, |store| {
    let g = grant(&store, Limits::default()).await;
    store
        .put_vault_entry(&g.user_id, "mk-x", "jwe")
        .await
        .unwrap();
    store
        .insert_tokens(&[TokenRow::new(
            "t".into(),
            StoredTokenKind::Access,
            &g.id,
            "f",
            None,
            now(),
        )])
        .await
        .unwrap();
    assert!(store.delete_user(&g.user_id).await.unwrap());
    assert!(store.vault_entry(&g.user_id).await.unwrap().is_none());
    assert!(store.grant(&g.id).await.unwrap().is_none());
    assert!(store.token_with_grant("t").await.unwrap().is_none());
});

on_both_backends!(vault_rotation_rewraps_everything, |store| {
    let old = KeyRing::new(vec![MasterKey::generate()]).unwrap();
    let mut users = vec![];
    for i in 0..3 {
        let u = user(&store).await;
        let sealed = old.seal(&u.id, format!("sk-key-{i}").as_bytes()).unwrap();
        store
            .put_vault_entry(&u.id, &sealed.key_id, &sealed.jwe)
            .await
            .unwrap();
        users.push(u);
    }
    assert_eq!(
        store.master_key_ids_in_use().await.unwrap(),
        vec![(old.active().id().to_owned(), 3)]
    );
    let ring = old.with_new_active(MasterKey::generate()).unwrap();
    // Before re-wrapping, old entries still open with the new ring.
    let e = store.vault_entry(&users[0].id).await.unwrap().unwrap();
    assert_eq!(&ring.open(&users[0].id, &e.jwe).unwrap()[..], b"sk-key-0");
    let report = rewrap_all(&ring, &store).await.unwrap();
    assert_eq!(report.rewrapped_vault_entries, 3);
    assert_eq!(
        store.master_key_ids_in_use().await.unwrap(),
        vec![(ring.active().id().to_owned(), 3)]
    );
    for (i, u) in users.iter().enumerate() {
        let e = store.vault_entry(&u.id).await.unwrap().unwrap();
        assert_eq!(e.key_id, ring.active().id());
        assert_eq!(
            &ring.open(&u.id, &e.jwe).unwrap()[..],
            format!("sk-key-{i}").as_bytes()
        );
        assert!(matches!(
            old.open(&u.id, &e.jwe),
            Err(VaultError::UnknownKeyId(_))
        ));
    }
    // A second run has nothing left to do.
    assert_eq!(
        rewrap_all(&ring, &store)
            .await
            .unwrap()
            .rewrapped_vault_entries,
        0
    );
});

on_both_backends!(key_ring_loading_guards_existing_data, |store| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    // First start on an empty store generates the key file, readable by its owner only.
    let ring = KeyRing::load(&MasterKeySource::Generated(path.clone()), &store)
        .await
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let again = KeyRing::load(&MasterKeySource::Generated(path.clone()), &store)
        .await
        .unwrap();
    assert_eq!(
        again.ids(),
        ring.ids(),
        "the generated key is reused, not replaced"
    );
    let u = user(&store).await;
    let sealed = ring.seal(&u.id, b"sk-x").unwrap();
    store
        .put_vault_entry(&u.id, &sealed.key_id, &sealed.jwe)
        .await
        .unwrap();

    // Key file lost: refuse, never generate a new key over existing data.
    std::fs::remove_file(&path).unwrap();
    let err = KeyRing::load(&MasterKeySource::Generated(path.clone()), &store)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(ring.active().id()) && err.contains("Restore"),
        "{err}"
    );
    assert!(!path.exists());

    // A different key: refuse and name both the missing and the present key ids.
    let wrong = MasterKey::generate();
    let env = MasterKeySource::Env(zeroize::Zeroizing::new(wrong.to_base64().to_string()));
    let err = KeyRing::load(&env, &store).await.unwrap_err().to_string();
    assert!(
        err.contains(ring.active().id()) && err.contains(wrong.id()),
        "{err}"
    );
    assert!(
        !err.contains(&*wrong.to_base64()),
        "the error must not print key material"
    );

    // A malformed key: a clear error.
    let bad = MasterKeySource::Env(zeroize::Zeroizing::new("not-a-key".into()));
    assert!(
        KeyRing::load(&bad, &store)
            .await
            .unwrap_err()
            .to_string()
            .contains("KEYWARD_MASTER_KEY")
    );
});
