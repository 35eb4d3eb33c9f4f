//! Live-room use cases natively through the ports (SQLite with the real migrations): who gets a
//! ticket, what a ticket admits and for how long, and who the bearer is *now* — a removed member,
//! a demoted editor, a revoked link and a disabled owner lose what they had.

mod common;

use common::pdf::pdf;
use common::ports::{block_on, World};
use serde_json::{json, Map, Value};

use scoremate::auth::tickets::{Bearer, Ticket};
use scoremate::domain::setlist::Party;
use scoremate::error::{ApiError, ApiResult};
use scoremate::service::live;
use scoremate::service::setlists::{self, LinkGate};

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

struct Open(bool);

impl LinkGate for Open {
    async fn admit(&self, _: Option<&str>) -> ApiResult<()> {
        if self.0 {
            Ok(())
        } else {
            Err(ApiError::RateLimited {
                retry_after_seconds: 60,
            })
        }
    }
}

struct Band {
    w: World,
    owner: String,
    editor: String,
    viewer: String,
    outsider: String,
    setlist: String,
    item: String,
}

fn band() -> Band {
    let w = World::new();
    let owner = w.user("owner@live.example", 1 << 30);
    let editor = w.user("editor@live.example", 1 << 30);
    let viewer = w.user("viewer@live.example", 1 << 30);
    let outsider = w.user("outsider@live.example", 1 << 30);
    let score = w.score(&owner, &pdf(1, "live"), "Piece");
    let (setlist, item) = w.setlist(
        &owner,
        "Gig",
        &[
            ("editor@live.example", "editor"),
            ("viewer@live.example", "viewer"),
        ],
        &score,
    );
    Band {
        w,
        owner,
        editor,
        viewer,
        outsider,
        setlist,
        item,
    }
}

fn token_of(b: &Band, user: &str) -> ApiResult<String> {
    block_on(live::member_ticket(&b.w.cx(), user, &b.setlist)).map(|t| {
        let path = t.url.rsplit('/').next().unwrap().to_owned();
        assert_eq!(path, t.ticket, "the URL carries the ticket");
        t.ticket
    })
}

#[test]
fn members_get_tickets_that_admit_them_with_their_role_and_outsiders_get_none() {
    let b = band();
    for (user, role) in [
        (&b.owner, "owner"),
        (&b.editor, "editor"),
        (&b.viewer, "viewer"),
    ] {
        let token = token_of(&b, user).unwrap();
        let (ticket, standing) = block_on(live::admit(&b.w.cx(), &token)).unwrap();
        assert_eq!(ticket.setlist, b.setlist);
        assert_eq!(ticket.bearer, Bearer::User(user.clone()));
        assert_eq!(standing.role(), role);
        assert_eq!(
            standing.version, 2,
            "created at 1; members do not bump it, an item does"
        );
    }
    assert!(matches!(token_of(&b, &b.outsider), Err(ApiError::NotFound)));
    assert!(matches!(
        block_on(live::member_ticket(&b.w.cx(), &b.owner, "set_nonsense")),
        Err(ApiError::NotFound)
    ));
}

#[test]
fn a_ticket_lives_sixty_seconds_and_a_forged_one_never() {
    let b = band();
    let token = token_of(&b, &b.viewer).unwrap();
    b.w.advance(59);
    assert!(block_on(live::admit(&b.w.cx(), &token)).is_ok());
    b.w.advance(1);
    assert!(matches!(
        block_on(live::admit(&b.w.cx(), &token)),
        Err(ApiError::NotFound)
    ));
    let fresh = token_of(&b, &b.viewer).unwrap();
    let mut forged = fresh.clone();
    forged.insert(5, 'A');
    assert!(matches!(
        block_on(live::admit(&b.w.cx(), &forged)),
        Err(ApiError::NotFound)
    ));
    // A ticket signed by another deployment's secret opens nothing here.
    let other = scoremate::storage::signed::SigningKey::derive(
        b"another deployment's secret",
        scoremate::auth::tickets::TICKET_PURPOSE,
    );
    let theirs = Ticket::new(
        "tkt_x".into(),
        b.setlist.clone(),
        Bearer::User(b.owner.clone()),
        b.w.cx().now,
    )
    .sign(&other);
    assert!(block_on(live::admit(&b.w.cx(), &theirs)).is_err());
}

#[test]
fn a_removed_member_or_a_disabled_owner_is_no_longer_admitted_and_a_demotion_shows() {
    let b = band();
    let viewer_token = token_of(&b, &b.viewer).unwrap();
    let editor_token = token_of(&b, &b.editor).unwrap();
    block_on(setlists::remove_member(
        &b.w.cx(),
        &b.owner,
        &b.setlist,
        &b.viewer,
    ))
    .unwrap();
    assert!(matches!(
        block_on(live::admit(&b.w.cx(), &viewer_token)),
        Err(ApiError::NotFound)
    ));
    block_on(setlists::add_member(
        &b.w.cx(),
        &b.owner,
        &b.setlist,
        body(json!({"email": "editor@live.example", "role": "viewer"})),
    ))
    .unwrap();
    let (_, standing) = block_on(live::admit(&b.w.cx(), &editor_token)).unwrap();
    assert_eq!(
        standing.party,
        Party::Viewer,
        "demoted: may follow, not lead"
    );
    b.w.db()
        .execute(
            "update users set disabled_at = 'x' where id = ?1",
            [&b.owner],
        )
        .unwrap();
    assert!(block_on(live::admit(&b.w.cx(), &editor_token)).is_err());
    assert!(
        token_of(&b, &b.editor).is_err(),
        "a disabled owner shares nothing"
    );
}

#[test]
fn guests_come_through_a_live_link_only_and_the_gate_counts_them() {
    let b = band();
    let link = block_on(setlists::create_link(
        &b.w.cx(),
        &b.owner,
        &b.setlist,
        body(json!({})),
    ))
    .unwrap();
    let token = link["token"].as_str().unwrap();
    let t = block_on(live::guest_ticket(&b.w.cx(), &Open(true), token)).unwrap();
    let (ticket, standing) = block_on(live::admit(&b.w.cx(), &t.ticket)).unwrap();
    assert_eq!(standing.role(), "guest");
    assert!(matches!(ticket.bearer, Bearer::Link(_)));
    assert!(matches!(
        block_on(live::guest_ticket(&b.w.cx(), &Open(false), token)),
        Err(ApiError::RateLimited { .. })
    ));
    assert!(matches!(
        block_on(live::guest_ticket(&b.w.cx(), &Open(true), "forged.token")),
        Err(ApiError::NotFound)
    ));
    block_on(setlists::revoke_link(
        &b.w.cx(),
        &b.owner,
        &b.setlist,
        link["id"].as_str().unwrap(),
    ))
    .unwrap();
    assert!(matches!(
        block_on(live::admit(&b.w.cx(), &t.ticket)),
        Err(ApiError::NotFound)
    ));
    assert!(matches!(
        block_on(live::guest_ticket(&b.w.cx(), &Open(true), token)),
        Err(ApiError::NotFound)
    ));
}

#[test]
fn items_and_versions_are_read_as_committed() {
    let b = band();
    assert!(block_on(live::is_item(&b.w.cx(), &b.setlist, &b.item)).unwrap());
    assert!(!block_on(live::is_item(
        &b.w.cx(),
        &b.setlist,
        "itm_00000000000000000000000000000000"
    ))
    .unwrap());
    assert!(!block_on(live::is_item(&b.w.cx(), &b.setlist, "x")).unwrap());
    assert_eq!(
        block_on(live::version(&b.w.cx(), &b.setlist)).unwrap(),
        Some(2)
    );
    block_on(setlists::delete(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    assert_eq!(
        block_on(live::version(&b.w.cx(), &b.setlist)).unwrap(),
        None
    );
    assert!(!block_on(live::is_item(&b.w.cx(), &b.setlist, &b.item)).unwrap());
}

#[test]
fn a_setlist_is_live_from_its_first_ticket_and_a_users_opened_rooms_are_known() {
    let b = band();
    let other: Value = serde_json::from_str(
        &block_on(setlists::create(
            &b.w.cx(),
            &b.editor,
            body(json!({"name": "Editor's own"})),
        ))
        .unwrap(),
    )
    .unwrap();
    let other = other["id"].as_str().unwrap().to_owned();
    assert!(!block_on(live::is_live(&b.w.cx(), &b.setlist)).unwrap());
    assert!(block_on(live::live_rooms_of(&b.w.cx(), &b.editor))
        .unwrap()
        .is_empty());
    // A refused ticket opens nothing.
    assert!(token_of(&b, &b.outsider).is_err());
    assert!(!block_on(live::is_live(&b.w.cx(), &b.setlist)).unwrap());
    token_of(&b, &b.viewer).unwrap();
    assert!(block_on(live::is_live(&b.w.cx(), &b.setlist)).unwrap());
    // Only the first ticket writes: a later one succeeds with the write failing.
    b.w.ports.db.fail_next("set live_at", 1);
    token_of(&b, &b.owner).unwrap();
    // The armed failure is still there for the next first ticket: no ticket without the mark.
    assert!(matches!(
        block_on(live::member_ticket(&b.w.cx(), &b.editor, &other)),
        Err(ApiError::Internal(_))
    ));
    assert!(!block_on(live::is_live(&b.w.cx(), &other)).unwrap());
    block_on(live::member_ticket(&b.w.cx(), &b.editor, &other)).unwrap();
    let mut rooms = block_on(live::live_rooms_of(&b.w.cx(), &b.editor)).unwrap();
    rooms.sort();
    let mut want = vec![(b.setlist.clone(), false), (other.clone(), true)];
    want.sort();
    assert_eq!(rooms, want);
    assert_eq!(
        block_on(live::live_rooms_of(&b.w.cx(), &b.owner)).unwrap(),
        vec![(b.setlist.clone(), true)]
    );
    block_on(setlists::delete(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    assert!(!block_on(live::is_live(&b.w.cx(), &b.setlist)).unwrap());
}
