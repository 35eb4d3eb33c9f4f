//! The live room of a setlist (SPEC §9) as pure code: the frames a client may send, the room's
//! state machine (lead, release, goto, presence, setlist changes), the event log a reconnecting
//! client resumes from, and the per-socket frame limit. The Durable Object in the shell only
//! stores what this decides and sends what it returns; who may lead is asked of the one setlist
//! policy ([`super::setlist::decide`]), as the REST routes ask it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::setlist::{decide, Action, Decision, Party};

/// Largest frame a client may send (bytes of JSON text).
pub const FRAME_MAX_BYTES: usize = 4096;
/// Events kept for resuming; older ones are dropped (a client further behind gets `hello` only).
pub const LOG_KEEP: usize = 1000;
/// Sockets one room accepts.
pub const SOCKETS_MAX: usize = 250;
/// Frames per second one socket may send before it is answered `RATE_LIMITED`.
pub const FRAMES_PER_SECOND: u32 = 20;
/// Frames in one second past which the socket is closed with [`CLOSE_RATE_LIMITED`].
pub const FRAMES_PER_SECOND_CLOSE: u32 = 2 * FRAMES_PER_SECOND;

const FOLLOW_ONLY: &str = "you may only follow";

/// Close codes (SPEC §9).
pub const CLOSE_FORBIDDEN: u16 = 4403;
pub const CLOSE_GONE: u16 = 4404;
pub const CLOSE_RATE_LIMITED: u16 = 4429;

/// A client's frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Lead,
    Release,
    Goto { item_id: String, page: u32 },
    Ping,
}

/// The error codes of an `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    NotLeader,
    Forbidden,
    BadMessage,
    RateLimited,
}

/// An answer to the sender alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: Code,
    pub message: String,
}

impl Refusal {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The `error` frame.
    pub fn frame(&self) -> String {
        json!({"type": "error", "code": self.code, "message": self.message}).to_string()
    }
}

/// Reads a client's frame: JSON text of at most [`FRAME_MAX_BYTES`], an object with a known
/// `type` and exactly that type's fields.
///
/// # Errors
/// `BAD_MESSAGE` with what is wrong.
pub fn parse_frame(text: &str) -> Result<Frame, Refusal> {
    let bad = |m: &str| Refusal::new(Code::BadMessage, m);
    if text.len() > FRAME_MAX_BYTES {
        return Err(bad("a frame is at most 4096 bytes"));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| bad("a frame is JSON text"))?;
    let Value::Object(map) = value else {
        return Err(bad("a frame is a JSON object"));
    };
    let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
    let allowed: &[&str] = match kind {
        "lead" | "release" | "ping" => &["type"],
        "goto" => &["type", "item_id", "page"],
        _ => return Err(bad("type must be lead, release, goto or ping")),
    };
    if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(&format!("unknown field {extra}")));
    }
    Ok(match kind {
        "lead" => Frame::Lead,
        "release" => Frame::Release,
        "ping" => Frame::Ping,
        _ => {
            let item_id = map
                .get("item_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && s.len() <= 64)
                .ok_or_else(|| bad("goto needs item_id, an item of the setlist"))?;
            let page = map
                .get("page")
                .and_then(Value::as_u64)
                .filter(|p| (1..=100_000).contains(p))
                .ok_or_else(|| bad("goto needs page, a whole number from 1"))?;
            Frame::Goto {
                item_id: item_id.to_owned(),
                page: u32::try_from(page).unwrap_or(1),
            }
        }
    })
}

/// Who sent a frame: their user id (a guest has none) and their party as the database says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender<'a> {
    pub user_id: Option<&'a str>,
    pub party: Party,
}

/// Where the band is: the persisted part of a room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub leader: Option<String>,
    pub item_id: Option<String>,
    pub page: Option<u32>,
    /// The setlist's version as the room last heard of it.
    pub version: i64,
}

/// What changed in a setlist (`setlist_changed.what`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Items,
    Details,
    Comments,
    Members,
    Links,
}

impl Change {
    /// # Errors
    /// An unknown name.
    pub fn parse(s: &str) -> Result<Self, String> {
        serde_json::from_value(Value::String(s.to_owned())).map_err(|_| format!("unknown {s}"))
    }
}

/// One connected socket's user, as `online` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Online {
    pub user_id: Option<String>,
    pub display_name: String,
    pub role: String,
}

/// The room: its state, the last `seq` and the log of recent events (`(seq, frame text)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Room {
    pub state: State,
    pub seq: u64,
    pub log: VecDeque<(u64, String)>,
}

/// What a frame did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An event for every socket (already logged under its `seq`).
    Broadcast(String),
    /// Nothing changed and nobody is told (a `release` by a non-leader… is a refusal instead).
    Quiet,
}

impl Room {
    /// A room rebuilt from what storage kept.
    pub fn restore(state: State, seq: u64, log: VecDeque<(u64, String)>) -> Self {
        Self { state, seq, log }
    }

    /// Logs an event under the next `seq` and returns its frame text.
    fn emit(&mut self, mut event: Value) -> String {
        self.seq += 1;
        event["seq"] = json!(self.seq);
        let text = event.to_string();
        self.log.push_back((self.seq, text.clone()));
        while self.log.len() > LOG_KEEP {
            self.log.pop_front();
        }
        text
    }

    fn state_event(&mut self, by: Option<&str>) -> String {
        let s = self.state.clone();
        self.emit(json!({
            "type": "state", "leader": s.leader, "item_id": s.item_id, "page": s.page, "by": by,
        }))
    }

    /// Applies a client's frame. `is_item` says whether an id is an item of the setlist now.
    ///
    /// # Errors
    /// The refusal to send back to the sender alone.
    pub fn apply(
        &mut self,
        who: &Sender<'_>,
        frame: &Frame,
        is_item: impl Fn(&str) -> bool,
    ) -> Result<Outcome, Refusal> {
        let leading = who.user_id.is_some() && self.state.leader.as_deref() == who.user_id;
        match frame {
            Frame::Ping => Ok(Outcome::Quiet),
            Frame::Lead => {
                if leading {
                    return Ok(Outcome::Quiet);
                }
                let action = if self.state.leader.is_some() {
                    Action::TakeLead
                } else {
                    Action::Lead
                };
                match (decide(who.party, action), who.user_id) {
                    (Decision::Allow, Some(user)) => {
                        self.state.leader = Some(user.to_owned());
                        Ok(Outcome::Broadcast(self.state_event(Some(user))))
                    }
                    (Decision::Forbid(why), _) => Err(Refusal::new(Code::Forbidden, why)),
                    _ => Err(Refusal::new(Code::Forbidden, FOLLOW_ONLY)),
                }
            }
            Frame::Release => {
                if !leading {
                    return Err(Refusal::new(Code::NotLeader, "you are not leading"));
                }
                self.state.leader = None;
                Ok(Outcome::Broadcast(self.state_event(who.user_id)))
            }
            Frame::Goto { item_id, page } => {
                if !leading {
                    return Err(Refusal::new(
                        Code::NotLeader,
                        "only the leader moves the band",
                    ));
                }
                // The leader may have been demoted since taking the lead: ask again.
                if !decide(who.party, Action::Lead).allowed() {
                    self.state.leader = None;
                    self.state_event(None);
                    return Err(Refusal::new(Code::Forbidden, FOLLOW_ONLY));
                }
                if !is_item(item_id) {
                    return Err(Refusal::new(
                        Code::BadMessage,
                        "item_id is not an item of the setlist",
                    ));
                }
                self.state.item_id = Some(item_id.clone());
                self.state.page = Some(*page);
                Ok(Outcome::Broadcast(self.state_event(who.user_id)))
            }
        }
    }

    /// A socket of `user_id` closed; `still_online`: another socket of theirs remains. The lead
    /// is released when the leader's last socket goes.
    pub fn left(&mut self, user_id: Option<&str>, still_online: bool) -> Option<String> {
        if still_online || user_id.is_none() || self.state.leader.as_deref() != user_id {
            return None;
        }
        self.state.leader = None;
        Some(self.state_event(None))
    }

    /// The lead of a user who may no longer lead (demoted, removed) is released.
    pub fn revoke_lead(&mut self, user_id: &str) -> Option<String> {
        (self.state.leader.as_deref() == Some(user_id)).then(|| {
            self.state.leader = None;
            self.state_event(None)
        })
    }

    /// Someone joined or left: the new `online` list.
    pub fn presence(&mut self, online: &[Online]) -> String {
        self.emit(json!({"type": "presence", "online": online}))
    }

    /// A committed REST write: the setlist's new version and what changed. An item that is gone
    /// stops being the band's place.
    pub fn setlist_changed(
        &mut self,
        version: i64,
        what: Change,
        item_exists: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        self.state.version = self.state.version.max(version);
        let mut out =
            vec![self.emit(json!({"type": "setlist_changed", "version": version, "what": what}))];
        if what == Change::Items
            && self
                .state
                .item_id
                .as_deref()
                .is_some_and(|i| !item_exists(i))
        {
            self.state.item_id = None;
            self.state.page = None;
            out.push(self.state_event(None));
        }
        out
    }

    /// The `hello` frame for a new socket of role `role` (not logged: it is the sender's alone).
    pub fn hello(&self, role: &str, online: &[Online]) -> String {
        json!({
            "type": "hello", "seq": self.seq, "role": role, "state": self.state, "online": online,
        })
        .to_string()
    }

    /// The events after `since` for a client resuming, or `None` when the log no longer holds
    /// all of them (then `hello` alone tells where the band is).
    pub fn replay(&self, since: u64) -> Option<Vec<&str>> {
        if since >= self.seq {
            return Some(Vec::new());
        }
        let oldest = self.log.front().map_or(self.seq + 1, |(s, _)| *s);
        if since + 1 < oldest {
            return None;
        }
        Some(
            self.log
                .iter()
                .filter(|(s, _)| *s > since)
                .map(|(_, t)| t.as_str())
                .collect(),
        )
    }
}

/// The role a live socket has, as `hello` and `online` name it.
pub fn role_name(party: Party) -> &'static str {
    match party {
        Party::Link => "guest",
        other => other.as_str(),
    }
}

/// One socket's frame budget: a fixed one-second window (the time is passed in).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    pub second: i64,
    pub frames: u32,
}

/// What the budget says of one more frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// Over the rate: answer `RATE_LIMITED`, do not act on it.
    Limited,
    /// Far over it: close the socket with [`CLOSE_RATE_LIMITED`].
    Close,
}

impl Budget {
    pub fn admit(&mut self, now_millis: i64) -> Admit {
        let second = now_millis.div_euclid(1000);
        if second != self.second {
            self.second = second;
            self.frames = 0;
        }
        self.frames = self.frames.saturating_add(1);
        if self.frames > FRAMES_PER_SECOND_CLOSE {
            Admit::Close
        } else if self.frames > FRAMES_PER_SECOND {
            Admit::Limited
        } else {
            Admit::Yes
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Sender<'static> {
        Sender {
            user_id: Some("usr_owner"),
            party: Party::Owner,
        }
    }

    fn editor() -> Sender<'static> {
        Sender {
            user_id: Some("usr_editor"),
            party: Party::Editor,
        }
    }

    fn viewer() -> Sender<'static> {
        Sender {
            user_id: Some("usr_viewer"),
            party: Party::Viewer,
        }
    }

    fn guest() -> Sender<'static> {
        Sender {
            user_id: None,
            party: Party::Link,
        }
    }

    fn goto(item: &str, page: u32) -> Frame {
        Frame::Goto {
            item_id: item.into(),
            page,
        }
    }

    fn any(_: &str) -> bool {
        true
    }

    fn event(o: &Outcome) -> Value {
        match o {
            Outcome::Broadcast(t) => serde_json::from_str(t).unwrap(),
            Outcome::Quiet => Value::Null,
        }
    }

    #[test]
    fn frames_are_small_json_objects_of_a_known_type_and_exact_fields() {
        assert_eq!(parse_frame(r#"{"type":"lead"}"#), Ok(Frame::Lead));
        assert_eq!(parse_frame(r#"{"type":"ping"}"#), Ok(Frame::Ping));
        assert_eq!(parse_frame(r#"{"type":"release"}"#), Ok(Frame::Release));
        assert_eq!(
            parse_frame(r#"{"type":"goto","item_id":"itm_1","page":3}"#),
            Ok(goto("itm_1", 3))
        );
        for bad in [
            "",
            "not json",
            "[]",
            "\"lead\"",
            r#"{"type":"dance"}"#,
            r#"{"kind":"lead"}"#,
            r#"{"type":"lead","extra":1}"#,
            r#"{"type":"goto","item_id":"itm_1"}"#,
            r#"{"type":"goto","item_id":"itm_1","page":0}"#,
            r#"{"type":"goto","item_id":"itm_1","page":-2}"#,
            r#"{"type":"goto","item_id":"itm_1","page":1.5}"#,
            r#"{"type":"goto","item_id":"itm_1","page":"2"}"#,
            r#"{"type":"goto","item_id":"","page":2}"#,
            r#"{"type":"goto","item_id":7,"page":2}"#,
        ] {
            let e = parse_frame(bad).unwrap_err();
            assert_eq!(e.code, Code::BadMessage, "{bad}");
        }
        let huge = format!(
            r#"{{"type":"ping","pad":"{}"}}"#,
            "x".repeat(FRAME_MAX_BYTES)
        );
        assert!(parse_frame(&huge).unwrap_err().message.contains("4096"));
        let e = Refusal::new(Code::NotLeader, "m").frame();
        assert_eq!(
            serde_json::from_str::<Value>(&e).unwrap(),
            json!({"type": "error", "code": "NOT_LEADER", "message": "m"})
        );
    }

    #[test]
    fn an_editor_leads_a_free_room_and_moves_everyone() {
        let mut room = Room::default();
        let e = event(&room.apply(&editor(), &Frame::Lead, any).unwrap());
        assert_eq!(e["type"], "state");
        assert_eq!(e["leader"], "usr_editor");
        assert_eq!(e["seq"], 1);
        let e = event(&room.apply(&editor(), &goto("itm_2", 4), any).unwrap());
        assert_eq!(
            (e["item_id"].as_str(), e["page"].as_u64()),
            (Some("itm_2"), Some(4))
        );
        assert_eq!(e["by"], "usr_editor");
        assert_eq!(e["seq"], 2);
        assert_eq!(room.state.page, Some(4));
        // Leading again is a no-op, not a new event.
        assert_eq!(room.apply(&editor(), &Frame::Lead, any), Ok(Outcome::Quiet));
        assert_eq!(room.seq, 2);
    }

    #[test]
    fn only_the_owner_takes_over_and_followers_only_follow() {
        let mut room = Room::default();
        room.apply(&editor(), &Frame::Lead, any).unwrap();
        let other_editor = Sender {
            user_id: Some("usr_e2"),
            party: Party::Editor,
        };
        assert_eq!(
            room.apply(&other_editor, &Frame::Lead, any)
                .unwrap_err()
                .code,
            Code::Forbidden
        );
        for follower in [viewer(), guest()] {
            assert_eq!(
                room.apply(&follower, &Frame::Lead, any).unwrap_err().code,
                Code::Forbidden
            );
            assert_eq!(
                room.apply(&follower, &goto("itm_1", 1), any)
                    .unwrap_err()
                    .code,
                Code::NotLeader
            );
            assert_eq!(
                room.apply(&follower, &Frame::Release, any)
                    .unwrap_err()
                    .code,
                Code::NotLeader
            );
        }
        // A viewer cannot lead a free room either.
        let mut free = Room::default();
        assert_eq!(
            free.apply(&viewer(), &Frame::Lead, any).unwrap_err().code,
            Code::Forbidden
        );
        let e = event(&room.apply(&owner(), &Frame::Lead, any).unwrap());
        assert_eq!(e["leader"], "usr_owner");
        assert_eq!(
            room.apply(&editor(), &goto("itm_1", 1), any)
                .unwrap_err()
                .code,
            Code::NotLeader,
            "the old leader no longer moves the band"
        );
    }

    #[test]
    fn goto_names_an_item_of_the_setlist() {
        let mut room = Room::default();
        room.apply(&owner(), &Frame::Lead, any).unwrap();
        let seq = room.seq;
        let e = room
            .apply(&owner(), &goto("itm_gone", 1), |i| i == "itm_1")
            .unwrap_err();
        assert_eq!(e.code, Code::BadMessage);
        assert_eq!(room.seq, seq, "a refusal changes nothing");
        assert!(room
            .apply(&owner(), &goto("itm_1", 1), |i| i == "itm_1")
            .is_ok());
    }

    #[test]
    fn a_demoted_leader_loses_the_lead_at_their_next_goto() {
        let mut room = Room::default();
        room.apply(&editor(), &Frame::Lead, any).unwrap();
        let demoted = Sender {
            user_id: Some("usr_editor"),
            party: Party::Viewer,
        };
        assert_eq!(
            room.apply(&demoted, &goto("itm_1", 1), any)
                .unwrap_err()
                .code,
            Code::Forbidden
        );
        assert_eq!(room.state.leader, None);
        let last: Value = serde_json::from_str(&room.log.back().unwrap().1).unwrap();
        assert_eq!(
            last["leader"],
            Value::Null,
            "everyone learns the lead is free"
        );
    }

    #[test]
    fn the_lead_goes_with_the_leaders_last_socket_or_a_release() {
        let mut room = Room::default();
        room.apply(&editor(), &Frame::Lead, any).unwrap();
        assert_eq!(
            room.left(Some("usr_editor"), true),
            None,
            "another socket remains"
        );
        assert_eq!(room.left(Some("usr_viewer"), false), None, "not the leader");
        let e: Value =
            serde_json::from_str(&room.left(Some("usr_editor"), false).unwrap()).unwrap();
        assert_eq!(e["leader"], Value::Null);
        room.apply(&owner(), &Frame::Lead, any).unwrap();
        let e = event(&room.apply(&owner(), &Frame::Release, any).unwrap());
        assert_eq!(
            (e["leader"].clone(), e["by"].clone()),
            (Value::Null, json!("usr_owner"))
        );
        assert!(room.revoke_lead("usr_owner").is_none());
        room.apply(&editor(), &Frame::Lead, any).unwrap();
        assert!(room.revoke_lead("usr_editor").is_some());
        assert_eq!(room.state.leader, None);
    }

    #[test]
    fn setlist_changes_carry_the_version_and_clear_a_removed_place() {
        let mut room = Room::default();
        room.apply(&owner(), &Frame::Lead, any).unwrap();
        room.apply(&owner(), &goto("itm_1", 2), any).unwrap();
        let out = room.setlist_changed(7, Change::Details, |_| false);
        assert_eq!(out.len(), 1, "details do not move the band");
        let e: Value = serde_json::from_str(&out[0]).unwrap();
        assert_eq!(
            e,
            json!({"type": "setlist_changed", "version": 7, "what": "details", "seq": 3})
        );
        let out = room.setlist_changed(8, Change::Items, |_| false);
        assert_eq!(out.len(), 2);
        assert_eq!(room.state.item_id, None);
        assert_eq!(room.state.version, 8);
        room.setlist_changed(5, Change::Links, any);
        assert_eq!(room.state.version, 8, "an older version never goes back");
        assert_eq!(Change::parse("members"), Ok(Change::Members));
        assert!(Change::parse("everything").is_err());
    }

    #[test]
    fn resume_replays_exactly_the_missed_events_or_nothing_when_the_log_is_short() {
        let mut room = Room::default();
        room.apply(&owner(), &Frame::Lead, any).unwrap();
        for page in 1..=5 {
            room.apply(&owner(), &goto("itm_1", page), any).unwrap();
        }
        assert_eq!(room.seq, 6);
        let missed = room.replay(3).unwrap();
        let seqs: Vec<u64> = missed
            .iter()
            .map(|t| {
                serde_json::from_str::<Value>(t).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(seqs, [4, 5, 6]);
        assert_eq!(room.replay(6).unwrap().len(), 0);
        assert_eq!(room.replay(99).unwrap().len(), 0);
        assert_eq!(room.replay(0).unwrap().len(), 6);
        for page in 0..LOG_KEEP {
            room.apply(
                &owner(),
                &goto("itm_1", u32::try_from(page).unwrap() + 1),
                any,
            )
            .unwrap();
        }
        assert_eq!(room.log.len(), LOG_KEEP);
        assert_eq!(room.replay(3), None, "older than the log: hello only");
        let oldest = room.log.front().unwrap().0;
        assert_eq!(room.replay(oldest - 1).unwrap().len(), LOG_KEEP);
        // The same room restored from storage answers alike.
        let again = Room::restore(room.state.clone(), room.seq, room.log.clone());
        assert_eq!(again.replay(oldest + 10), room.replay(oldest + 10));
    }

    #[test]
    fn hello_and_presence_name_everyone_online() {
        let mut room = Room::default();
        let online = [Online {
            user_id: None,
            display_name: "Guest".into(),
            role: role_name(Party::Link).into(),
        }];
        let p: Value = serde_json::from_str(&room.presence(&online)).unwrap();
        assert_eq!(p["online"][0]["role"], "guest");
        assert_eq!(p["seq"], 1);
        let h: Value = serde_json::from_str(&room.hello("viewer", &online)).unwrap();
        assert_eq!(h["type"], "hello");
        assert_eq!(h["seq"], 1);
        assert_eq!(
            h["state"],
            json!({"leader": null, "item_id": null, "page": null, "version": 0})
        );
        assert_eq!(room.log.len(), 1, "hello is not logged");
    }

    #[test]
    fn twenty_frames_a_second_then_refusals_then_the_door() {
        let mut b = Budget::default();
        let t = 5_000;
        for _ in 0..FRAMES_PER_SECOND {
            assert_eq!(b.admit(t), Admit::Yes);
        }
        for _ in FRAMES_PER_SECOND..FRAMES_PER_SECOND_CLOSE {
            assert_eq!(b.admit(t + 999), Admit::Limited);
        }
        assert_eq!(b.admit(t + 500), Admit::Close);
        assert_eq!(b.admit(t + 1000), Admit::Yes, "a new second starts afresh");
    }
}
