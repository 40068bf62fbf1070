//! Budget reservations in the store, on SQLite and PostgreSQL: taken atomically by any number
//! of instances, released exactly once, whether the request settles, the sweep finds its lease
//! ended (its instance died), or both race.

use std::sync::Arc;

use keyward::clock::now;
use keyward::store::clients::{Client, ClientKind};
use keyward::store::grants::{Grant, Limits};
use keyward::store::reservations::NewReservation;
use keyward::store::usage::{Consumption, UsageMonth};
use keyward::store::users::User;
use keyward::store::{Store, new_id};
use keyward_testkit::on_both_backends;

const MONTH: &str = "2026-11";

/// A grant (with its user and client) to reserve against.
async fn grant(store: &Store) -> Grant {
    let user = User {
        id: new_id(),
        webauthn_id: new_id(),
        display_name: "Ada".into(),
        created_at: now(),
    };
    store.insert_user(&user).await.unwrap();
    let client = Client {
        id: new_id(),
        kind: ClientKind::Registered,
        name: "Notes".into(),
        logo_url: None,
        redirect_uris: vec!["https://notes.example/cb".into()],
        secret_hash: None,
        created_at: now(),
    };
    store.insert_client(&client).await.unwrap();
    let g = Grant::new(&user.id, &client.id, vec![], Limits::default(), now());
    store.insert_grant(&g).await.unwrap();
    g
}

/// A reservation of `amount` out of 1,000, leased until `expires_at`.
fn want(g: &Grant, amount: i64, expires_at: i64) -> NewReservation<'_> {
    NewReservation {
        grant_id: &g.id,
        month: MONTH,
        amount,
        budget: 1_000,
        expires_at,
    }
}

async fn month(store: &Store, g: &Grant) -> UsageMonth {
    store.usage_month(&g.id, MONTH).await.unwrap()
}

fn costing(micro_usd: i64) -> Consumption {
    Consumption {
        output_tokens: 10,
        cost_microusd: Some(micro_usd),
        ..Consumption::default()
    }
}

on_both_backends!(settling_releases_the_reservation_once, |store| {
    let g = grant(&store).await;
    let id = store
        .reserve_budget(want(&g, 300, now() + 300))
        .await
        .unwrap()
        .expect("fits");
    assert_eq!(store.reservations_held(&g.id).await.unwrap(), 1);
    assert_eq!(month(&store, &g).await.reserved_microusd, 300);
    store
        .settle_usage(&g.id, MONTH, Some(&id), &costing(120))
        .await
        .unwrap();
    let m = month(&store, &g).await;
    assert_eq!((m.spent_microusd, m.reserved_microusd), (120, 0));
    assert_eq!(store.reservations_held(&g.id).await.unwrap(), 0);
    // A settlement delivered twice counts the usage twice but releases nothing more.
    store
        .settle_usage(&g.id, MONTH, Some(&id), &costing(0))
        .await
        .unwrap();
    assert_eq!(month(&store, &g).await.reserved_microusd, 0);
});

on_both_backends!(expired_leases_give_their_budget_back, |store| {
    let g = grant(&store).await;
    let t = now();
    // An instance died holding 600; a live one holds 300: nothing else fits.
    let dead = store
        .reserve_budget(want(&g, 600, t - 1))
        .await
        .unwrap()
        .unwrap();
    let live = store
        .reserve_budget(want(&g, 300, t + 300))
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .reserve_budget(want(&g, 200, t + 300))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.release_expired_reservations(t).await.unwrap(), 1);
    assert_eq!(month(&store, &g).await.reserved_microusd, 300);
    assert!(
        store
            .reserve_budget(want(&g, 200, t + 300))
            .await
            .unwrap()
            .is_some(),
        "the dead instance's 600 are available again"
    );
    // Its request settles after all (it was slow, not dead): the usage counts, the
    // reservation is not released a second time.
    store
        .settle_usage(&g.id, MONTH, Some(&dead), &costing(500))
        .await
        .unwrap();
    let m = month(&store, &g).await;
    assert_eq!((m.spent_microusd, m.reserved_microusd), (500, 500));
    // A renewed lease is not swept.
    store
        .renew_reservations(std::slice::from_ref(&live), t + 600)
        .await
        .unwrap();
    assert_eq!(
        store.release_expired_reservations(t + 400).await.unwrap(),
        1
    );
    assert_eq!(month(&store, &g).await.reserved_microusd, 300);
    assert_eq!(store.reservations_held(&g.id).await.unwrap(), 1);
});

on_both_backends!(
    sweeps_and_settlements_racing_release_each_reservation_once,
    |store| {
        // Two instances (two connection pools) on one database.
        let other = Store::open(store.url()).await.unwrap();
        let stores = [Arc::new(store), Arc::new(other)];
        let g = grant(&stores[0]).await;
        let t = now();
        let mut ids = Vec::new();
        for _ in 0..40 {
            ids.push(
                stores[0]
                    .reserve_budget(want(&g, 25, t - 1))
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        assert_eq!(month(&stores[0], &g).await.reserved_microusd, 1_000);
        // Four sweeps on both instances and a settlement of every other reservation, all at once.
        let sweeps = (0..4).map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move { store.release_expired_reservations(t).await.unwrap() })
        });
        let settlements = ids.iter().step_by(2).enumerate().map(|(i, id)| {
            let (store, grant_id, id) = (stores[i % 2].clone(), g.id.clone(), id.clone());
            tokio::spawn(async move {
                store
                    .settle_usage(&grant_id, MONTH, Some(&id), &costing(1))
                    .await
                    .unwrap()
            })
        });
        let settlements: Vec<_> = settlements.collect();
        let swept: usize = futures_util::future::join_all(sweeps)
            .await
            .into_iter()
            .map(Result::unwrap)
            .sum();
        futures_util::future::join_all(settlements).await;
        let m = month(&stores[0], &g).await;
        assert_eq!(m.reserved_microusd, 0, "released exactly once: {m:?}");
        assert_eq!((m.requests, m.spent_microusd), (20, 20));
        assert!((20..=40).contains(&swept), "swept {swept}");
        assert_eq!(stores[1].reservations_held(&g.id).await.unwrap(), 0);
    }
);

on_both_backends!(
    two_instances_reserving_at_once_never_exceed_the_budget,
    |store| {
        let other = Store::open(store.url()).await.unwrap();
        let stores = [Arc::new(store), Arc::new(other)];
        let g = grant(&stores[0]).await;
        let expires = now() + 300;
        // 100 concurrent reservations of 30 against 1,000, split over two pools: 33 fit.
        let tries = (0..100).map(|i| {
            let (store, g) = (stores[i % 2].clone(), g.clone());
            tokio::spawn(async move {
                store
                    .reserve_budget(want(&g, 30, expires))
                    .await
                    .unwrap()
                    .is_some()
            })
        });
        let granted = futures_util::future::join_all(tries)
            .await
            .into_iter()
            .filter(|r| *r.as_ref().unwrap())
            .count();
        assert_eq!(granted, 33);
        assert_eq!(month(&stores[1], &g).await.reserved_microusd, 990);
        assert_eq!(stores[0].reservations_held(&g.id).await.unwrap(), 33);
    }
);
