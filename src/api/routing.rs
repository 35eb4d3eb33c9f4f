//! Which database a request runs in (`domain::shard`): the id whose owner's rows it works on,
//! read from the path, from the link, ticket or blob token in it, or else the caller's own.
//! Pure, so that every route's choice is tested natively; the shell opens the database.

use crate::auth::{links, tickets::Ticket};
use crate::domain::time::Millis;
use crate::domain::{shard, task};
use crate::storage::keys;
use crate::storage::presign::{verify_blob, BlobOp};
use crate::storage::signed::SigningKey;

use super::routes::{Endpoint, RouteDef};

/// The keys that check the tokens a path may carry (`None`: that key is not configured, and such
/// a token routes nowhere in particular).
#[derive(Clone, Copy, Default)]
pub struct TokenKeys<'a> {
    pub link: Option<&'a SigningKey>,
    pub ticket: Option<&'a SigningKey>,
    pub blob: Option<&'a SigningKey>,
}

/// The id whose owner's database serves a request to `route` with path `params`: the id its
/// path is about, the link, ticket or upload its token names, or else `caller` (the access
/// token's subject, read only to route: authentication still checks everything). A token that
/// does not verify routes nowhere in particular (`None`: the first database), where it is
/// refused.
pub fn routing_key(
    route: &RouteDef,
    params: &[String],
    keys: TokenKeys<'_>,
    now: Millis,
    caller: Option<&str>,
) -> Option<String> {
    let param = params.first().map(String::as_str);
    let template = route.template;
    if template.starts_with("/v1/shared/") {
        return links::link_id(keys.link?, param?);
    }
    if template.starts_with("/v1/live/") {
        return Ticket::open(keys.ticket?, param?, now).map(|t| t.setlist);
    }
    if template.starts_with("/v1/blobs/") {
        let op = if route.endpoint == Endpoint::PutBlob {
            BlobOp::Put
        } else {
            BlobOp::Get
        };
        let claims = verify_blob(keys.blob?, param?, op, now).ok()?;
        return Some(keys::owner_of(&claims.k).to_owned());
    }
    if template.starts_with("/v1/admin/tasks/") {
        return param.and_then(task::record_owner_key).map(str::to_owned);
    }
    // A path id we could not have issued routes by the caller, where the answer (404) is read.
    if let Some(id) = param.filter(|p| template.contains("/{id}") && shard::vshard(p).is_some()) {
        return Some(id.to_owned());
    }
    caller.map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::routes::{match_route, Match};
    use crate::auth::links::LINK_PURPOSE;
    use crate::auth::tickets::{Bearer, TICKET_PURPOSE};
    use crate::storage::presign::{self, Mode, BLOB_PURPOSE};

    const NOW: Millis = Millis(1_780_000_000_000);
    const CALLER: &str = "usr_11000000000000000000000000000000";

    struct Keys {
        link: SigningKey,
        ticket: SigningKey,
        blob: SigningKey,
    }

    fn keys() -> Keys {
        let key = |purpose| SigningKey::derive(b"routing-test-secret", purpose);
        Keys {
            link: key(LINK_PURPOSE),
            ticket: key(TICKET_PURPOSE),
            blob: key(BLOB_PURPOSE),
        }
    }

    fn key_of(method: &str, path: &str) -> Option<String> {
        let Match::Found { route, params } = match_route(method, path) else {
            panic!("{method} {path} is no route");
        };
        let k = keys();
        let keys = TokenKeys {
            link: Some(&k.link),
            ticket: Some(&k.ticket),
            blob: Some(&k.blob),
        };
        routing_key(route, &params, keys, NOW, Some(CALLER))
    }

    #[test]
    fn a_path_id_routes_to_its_owner_and_anything_else_to_the_caller() {
        let setlist = "set_ab000000000000000000000000000000";
        let key = key_of(
            "GET",
            &format!("/v1/setlists/{setlist}/items/itm_1/annotations"),
        );
        assert_eq!(key.as_deref(), Some(setlist));
        let score = "sco_cd000000000000000000000000000000";
        assert_eq!(
            key_of("GET", &format!("/v1/scores/{score}")).as_deref(),
            Some(score)
        );
        assert_eq!(
            key_of("GET", "/v1/scores/sco_nope").as_deref(),
            Some(CALLER)
        );
        assert_eq!(key_of("GET", "/v1/scores").as_deref(), Some(CALLER));
        assert_eq!(key_of("GET", "/v1/setlists").as_deref(), Some(CALLER));
        assert_eq!(
            key_of(
                "POST",
                "/v1/admin/tasks/pdf_info:sco_ef000000000000000000000000000000/retry"
            )
            .as_deref(),
            Some("sco_ef000000000000000000000000000000")
        );
    }

    #[test]
    fn a_token_routes_to_the_owner_it_names_and_a_forged_one_nowhere() {
        let c = keys();
        let link = "lnk_ab000000000000000000000000000000";
        let token = links::token(&c.link, link);
        assert_eq!(
            key_of("GET", &format!("/v1/shared/{token}")).as_deref(),
            Some(link)
        );
        assert_eq!(key_of("GET", "/v1/shared/forged"), None);
        let setlist = "set_cd000000000000000000000000000000";
        let ticket = Ticket::new(
            "tkt_1".into(),
            setlist.into(),
            Bearer::User(CALLER.into()),
            NOW,
        )
        .sign(&c.ticket);
        assert_eq!(
            key_of("GET", &format!("/v1/live/{ticket}")).as_deref(),
            Some(setlist)
        );
        let owner = "usr_ef000000000000000000000000000000";
        let url = presign::download(
            &Mode::Worker,
            &c.blob,
            "https://x.test",
            &format!("u/{owner}/s/upl_1.pdf"),
            "application/pdf",
            NOW,
            300,
        )
        .url;
        let path = url.trim_start_matches("https://x.test");
        assert_eq!(key_of("GET", path).as_deref(), Some(owner));
        assert_eq!(key_of("GET", "/v1/blobs/forged"), None);
    }
}
