//! The live room of one setlist: a SQLite-backed Durable Object (keyed by setlist id) holding
//! the band's WebSockets through the Hibernation API. What the room decides is
//! `domain::live`'s; this file stores it and sends it. The state (leader, item, page, version,
//! `seq`) and the event log live in the object's SQLite storage and are read back in `new()`,
//! so a trap, an eviction or a redeploy loses nothing; `room` is only a cache of them. Pings are
//! answered by the runtime's auto-response, without waking the room.
//!
//! The Worker talks to the room with two internal requests: `GET /connect` (a WebSocket upgrade
//! carrying the admitted ticket) and `POST /notify` (a committed REST write).

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Request, Response, SqlStorage, SqlStorageValue, State,
    WebSocket, WebSocketIncomingMessage, WebSocketPair,
};

use crate::auth::tickets::Bearer;
use crate::domain::live::{
    self, parse_frame, Admit, Budget, Change, Code, Frame, Online, Refusal, Room, Sender,
    CLOSE_FORBIDDEN, CLOSE_GONE, CLOSE_RATE_LIMITED, LOG_KEEP, SOCKETS_MAX,
};
use crate::domain::setlist::Party;
use crate::service::live as uc;

use super::ctx::{now, Ctx};

/// What the Worker tells the room at connect (`x-live` header, JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Admission {
    pub ticket: String,
    pub expires: i64,
    pub setlist: String,
    pub bearer: Bearer,
    pub role: String,
    pub display_name: String,
    pub version: i64,
    /// When the bearer's standing ends by itself (a link's expiry): the room wakes then.
    pub until: Option<i64>,
}

/// A committed REST write (`POST /notify`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Notice {
    pub setlist: String,
    pub what: Option<Change>,
    pub version: Option<i64>,
    /// A member removed: their sockets close with 4403.
    pub removed_user: Option<String>,
    /// A link revoked: its guests' sockets close with 4403.
    pub revoked_link: Option<String>,
    /// The setlist was deleted: every socket closes with 4404 and the room forgets everything.
    #[serde(default)]
    pub deleted: bool,
    /// The owner's account was disabled: every socket closes with 4403; the room keeps its state.
    #[serde(default)]
    pub closed: bool,
}

/// What each socket carries through hibernation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attachment {
    bearer: Bearer,
    role: String,
    display_name: String,
    budget: Budget,
}

impl Attachment {
    fn user_id(&self) -> Option<&str> {
        match &self.bearer {
            Bearer::User(id) => Some(id),
            Bearer::Link(_) => None,
        }
    }

    fn online(&self) -> Online {
        Online {
            user_id: self.user_id().map(str::to_owned),
            display_name: self.display_name.clone(),
            role: self.role.clone(),
        }
    }
}

fn tag(bearer: &Bearer) -> String {
    match bearer {
        Bearer::User(id) => format!("u:{id}"),
        Bearer::Link(id) => format!("l:{id}"),
    }
}

#[durable_object]
pub struct LiveRoom {
    state: State,
    env: Env,
    room: RefCell<Room>,
    setlist: RefCell<Option<String>>,
    /// Frames handled by `websocket_message` since this instance was made: pings answered by the
    /// auto-response never reach it (nor wake a hibernating room), which `/stats` lets one see.
    handled: std::cell::Cell<u64>,
    /// When this instance was made (woken), in milliseconds.
    woke_at: i64,
}

const SCHEMA: &str = "create table if not exists meta (k text primary key, v text not null); \
     create table if not exists log (seq integer primary key, frame text not null); \
     create table if not exists spent (id text primary key, expires integer not null);";

#[derive(Deserialize)]
struct Meta {
    k: String,
    v: String,
}

#[derive(Deserialize)]
struct LogRow {
    seq: i64,
    frame: String,
}

impl LiveRoom {
    /// The use cases' context for an event of `setlist`'s room: settings, the time, and the
    /// owner's database (`domain::shard`).
    fn ctx(&self, setlist: &str) -> worker::Result<Ctx> {
        Ctx::for_id(&self.env, setlist).map_err(|e| worker::Error::RustError(e.to_string()))
    }

    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Persists what the last step logged and sends it to every socket.
    fn flush(&self) {
        let sql = self.sql();
        let mut room = self.room.borrow_mut();
        let events: Vec<(u64, String)> = room.log.drain(..).collect();
        if events.is_empty() {
            return;
        }
        for (seq, frame) in &events {
            let _ = sql.exec(
                "insert or replace into log (seq, frame) values (?, ?)",
                vec![seq_value(*seq), frame.as_str().into()],
            );
        }
        let keep_from = room.seq.saturating_sub(LOG_KEEP as u64);
        let _ = sql.exec("delete from log where seq <= ?", vec![seq_value(keep_from)]);
        let state = serde_json::to_string(&room.state).unwrap_or_default();
        let _ = sql.exec(
            "insert or replace into meta (k, v) values ('state', ?), ('seq', ?)",
            vec![state.into(), room.seq.to_string().into()],
        );
        drop(room);
        let sockets = self.state.get_websockets();
        for (_, frame) in &events {
            for ws in &sockets {
                let _ = ws.send_with_str(frame);
            }
        }
    }

    fn attachments(&self, except: Option<&WebSocket>) -> Vec<(WebSocket, Attachment)> {
        self.state
            .get_websockets()
            .into_iter()
            .filter(|ws| except != Some(ws))
            .filter_map(|ws| {
                let a = ws.deserialize_attachment::<Attachment>().ok().flatten()?;
                Some((ws, a))
            })
            .collect()
    }

    fn online(&self, except: Option<&WebSocket>) -> Vec<Online> {
        self.attachments(except)
            .iter()
            .map(|(_, a)| a.online())
            .collect()
    }

    fn presence(&self, except: Option<&WebSocket>) {
        let online = self.online(except);
        self.room.borrow_mut().presence(&online);
        self.flush();
    }

    fn remember_setlist(&self, setlist: &str) {
        if self.setlist.borrow().as_deref() != Some(setlist) {
            let _ = self.sql().exec(
                "insert or replace into meta (k, v) values ('setlist', ?)",
                vec![setlist.into()],
            );
            *self.setlist.borrow_mut() = Some(setlist.to_owned());
        }
    }

    async fn join(&self, req: Request) -> worker::Result<Response> {
        let header = req.headers().get("x-live")?.unwrap_or_default();
        let Ok(admission) = serde_json::from_str::<Admission>(&header) else {
            return Response::error("bad admission", 400);
        };
        let sql = self.sql();
        let now = now().0;
        let _ = sql.exec("delete from spent where expires <= ?", vec![now.into()]);
        // Single use: the insert fails when the ticket was spent.
        if sql
            .exec(
                "insert into spent (id, expires) values (?, ?)",
                vec![admission.ticket.as_str().into(), admission.expires.into()],
            )
            .is_err()
        {
            return Response::error("not found", 404);
        }
        if self.state.get_websockets().len() >= SOCKETS_MAX {
            return Response::error("the room is full", 503);
        }
        self.remember_setlist(&admission.setlist);
        let since = req
            .url()?
            .query_pairs()
            .find(|(k, _)| k == "since")
            .and_then(|(_, v)| v.parse::<u64>().ok());
        let pair = WebSocketPair::new()?;
        let attachment = Attachment {
            bearer: admission.bearer.clone(),
            role: admission.role.clone(),
            display_name: admission.display_name.clone(),
            budget: Budget::default(),
        };
        self.state
            .accept_websocket_with_tags(&pair.server, &[tag(&admission.bearer).as_str()]);
        pair.server.serialize_attachment(&attachment)?;
        {
            let mut room = self.room.borrow_mut();
            room.state.version = room.state.version.max(admission.version);
        }
        let online = self.online(None);
        let hello = self.room.borrow().hello(&admission.role, &online);
        pair.server.send_with_str(hello)?;
        if let Some(since) = since {
            for frame in self.replay(since) {
                pair.server.send_with_str(frame)?;
            }
        }
        self.presence(None);
        if let Some(until) = admission.until {
            self.wake_at(until).await;
        }
        Response::from_websocket(pair.client)
    }

    /// Schedules the alarm for `at` unless an earlier one is set.
    async fn wake_at(&self, at: i64) {
        let storage = self.state.storage();
        let current = storage.get_alarm().await.ok().flatten();
        if current.is_none_or(|c| c > at) {
            // An i64 is an offset from now for `set_alarm` (an absolute time is a Date).
            let _ = storage.set_alarm((at - now().0).max(1)).await;
        }
    }

    /// Closes the sockets whose bearer may no longer follow (an expired link), and schedules
    /// the next expiry still ahead.
    async fn recheck(&self) -> worker::Result<()> {
        let Some(setlist) = self.setlist.borrow().clone() else {
            return Ok(());
        };
        let ctx = self.ctx(&setlist)?;
        let cx = ctx.cx("");
        let mut closed = false;
        let mut next: Option<i64> = None;
        for (ws, att) in self.attachments(None) {
            if !matches!(att.bearer, Bearer::Link(_)) {
                continue;
            }
            match uc::standing(&cx, &setlist, &att.bearer).await {
                Ok(Some(s)) => next = s.until.into_iter().chain(next).min(),
                Ok(None) => {
                    let _ = ws.close(Some(CLOSE_FORBIDDEN), Some("the link expired"));
                    closed = true;
                }
                Err(_) => next = Some(now().0 + 1000),
            }
        }
        if let Some(at) = next {
            self.wake_at(at).await;
        }
        if closed {
            self.presence(None);
        }
        Ok(())
    }

    /// The events after `since`, from storage (nothing when the log no longer reaches back).
    fn replay(&self, since: u64) -> Vec<String> {
        let rows: Vec<LogRow> = self
            .sql()
            .exec("select seq, frame from log order by seq", None)
            .and_then(|c| c.to_array())
            .unwrap_or_default();
        let log = rows
            .into_iter()
            .map(|r| (u64::try_from(r.seq).unwrap_or(0), r.frame))
            .collect();
        let room = self.room.borrow();
        let stored = Room::restore(room.state.clone(), room.seq, log);
        stored
            .replay(since)
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    async fn notify(&self, mut req: Request) -> worker::Result<Response> {
        let Ok(notice) = req.json::<Notice>().await else {
            return Response::error("bad notice", 400);
        };
        if notice.deleted {
            for ws in self.state.get_websockets() {
                let _ = ws.close(Some(CLOSE_GONE), Some("the setlist was deleted"));
            }
            self.state.storage().delete_all().await?;
            let _ = self.sql().exec(SCHEMA, None);
            *self.room.borrow_mut() = Room::default();
            return Response::empty();
        }
        if notice.closed {
            for ws in self.state.get_websockets() {
                let _ = ws.close(Some(CLOSE_FORBIDDEN), Some("no longer allowed in"));
            }
            return Response::empty();
        }
        self.remember_setlist(&notice.setlist);
        let mut closed = false;
        for (prefix, id) in [("u", &notice.removed_user), ("l", &notice.revoked_link)] {
            let Some(id) = id else { continue };
            for ws in self
                .state
                .get_websockets_with_tag(&format!("{prefix}:{id}"))
            {
                let _ = ws.close(Some(CLOSE_FORBIDDEN), Some("no longer allowed in"));
                closed = true;
            }
            if prefix == "u" {
                self.room.borrow_mut().revoke_lead(id);
            }
        }
        let leader = self.room.borrow().state.leader.clone();
        let current = self.room.borrow().state.item_id.clone();
        // D1 is asked only when the notice leaves a question open: most notices carry their
        // version and change neither the members nor the item the room stands on.
        let asks = (notice.what == Some(Change::Members) && leader.is_some())
            || (notice.what.is_some() && notice.version.is_none())
            || (notice.what == Some(Change::Items) && current.is_some());
        let ctx = if asks {
            Some(self.ctx(&notice.setlist)?)
        } else {
            None
        };
        let cx = ctx.as_ref().map(|c| c.cx(""));
        // A demoted leader stops leading now, not at their next move.
        if let (Some(cx), Some(Change::Members), Some(leader)) = (&cx, notice.what, leader) {
            let standing = uc::standing(cx, &notice.setlist, &Bearer::User(leader.clone()))
                .await
                .ok()
                .flatten();
            if !standing.is_some_and(|s| s.may_lead()) {
                self.room.borrow_mut().revoke_lead(&leader);
            }
        }
        if let Some(what) = notice.what {
            let version = match (notice.version, &cx) {
                (Some(v), _) => Some(v),
                (None, Some(cx)) => uc::version(cx, &notice.setlist).await.ok().flatten(),
                (None, None) => None,
            };
            let version = version.unwrap_or(self.room.borrow().state.version);
            let exists = match (&current, what, &cx) {
                (Some(item), Change::Items, Some(cx)) => {
                    uc::is_item(cx, &notice.setlist, item).await.unwrap_or(true)
                }
                _ => true,
            };
            self.room
                .borrow_mut()
                .setlist_changed(version, what, |_| exists);
        }
        self.flush();
        if closed {
            self.presence(None);
        }
        Response::empty()
    }

    /// `GET /stats` (admins, through the Worker): sockets open, frames handled since the room
    /// woke, and when it woke.
    fn stats(&self) -> worker::Result<Response> {
        Response::from_json(&serde_json::json!({
            "sockets": self.state.get_websockets().len(),
            "frames_handled": self.handled.get(),
            "woke_at": crate::domain::time::Millis(self.woke_at).rfc3339(),
            "seq": self.room.borrow().seq,
        }))
    }

    async fn message(&self, ws: &WebSocket, text: Option<String>) -> worker::Result<()> {
        let Some(mut att) = ws.deserialize_attachment::<Attachment>()? else {
            return Ok(());
        };
        let verdict = att.budget.admit(now().0);
        ws.serialize_attachment(&att)?;
        match verdict {
            Admit::Yes => {}
            Admit::Limited => {
                return ws.send_with_str(
                    Refusal::new(
                        Code::RateLimited,
                        format!("at most {} frames a second", live::FRAMES_PER_SECOND),
                    )
                    .frame(),
                )
            }
            Admit::Close => return ws.close(Some(CLOSE_RATE_LIMITED), Some("too many frames")),
        }
        let frame = match text.as_deref().map(parse_frame) {
            Some(Ok(frame)) => frame,
            Some(Err(refusal)) => return ws.send_with_str(refusal.frame()),
            None => {
                return ws
                    .send_with_str(Refusal::new(Code::BadMessage, "frames are JSON text").frame())
            }
        };
        if frame == Frame::Ping {
            return ws.send_with_str(r#"{"type":"pong"}"#);
        }
        let Some(setlist) = self.setlist.borrow().clone() else {
            return Ok(());
        };
        let ctx = self.ctx(&setlist)?;
        let cx = ctx.cx("");
        // Who they are now: a member demoted or removed since connecting cannot lead.
        let mut party = Party::from_role(Some(match att.role.as_str() {
            "guest" => "link",
            r => r,
        }));
        if matches!(frame, Frame::Lead | Frame::Goto { .. }) {
            match uc::standing(&cx, &setlist, &att.bearer).await {
                Ok(Some(s)) => party = s.party,
                Ok(None) => {
                    if let Some(user) = att.user_id() {
                        self.room.borrow_mut().revoke_lead(user);
                        self.flush();
                    }
                    return ws.close(Some(CLOSE_FORBIDDEN), Some("no longer allowed in"));
                }
                Err(_) => {
                    return ws.send_with_str(Refusal::new(Code::Forbidden, "try again").frame())
                }
            }
        }
        let is_item = match &frame {
            Frame::Goto { item_id, .. } => {
                uc::is_item(&cx, &setlist, item_id).await.unwrap_or(false)
            }
            _ => true,
        };
        let sender = Sender {
            user_id: att.user_id(),
            party,
        };
        let result = self.room.borrow_mut().apply(&sender, &frame, |_| is_item);
        self.flush();
        match result {
            Ok(_) => Ok(()),
            Err(refusal) => ws.send_with_str(refusal.frame()),
        }
    }

    fn gone(&self, ws: &WebSocket) {
        let Ok(Some(att)) = ws.deserialize_attachment::<Attachment>() else {
            return;
        };
        let still_online = self
            .state
            .get_websockets_with_tag(&tag(&att.bearer))
            .iter()
            .any(|other| other != ws);
        self.room.borrow_mut().left(att.user_id(), still_online);
        self.presence(Some(ws));
    }
}

fn seq_value(seq: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(seq).unwrap_or(i64::MAX))
}

impl DurableObject for LiveRoom {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        let _ = sql.exec(SCHEMA, None);
        let meta: Vec<Meta> = sql
            .exec("select k, v from meta", None)
            .and_then(|c| c.to_array())
            .unwrap_or_default();
        let mut room = Room::default();
        let mut setlist = None;
        for m in meta {
            match m.k.as_str() {
                "state" => room.state = serde_json::from_str(&m.v).unwrap_or_default(),
                "seq" => room.seq = m.v.parse().unwrap_or(0),
                "setlist" => setlist = Some(m.v),
                _ => {}
            }
        }
        if let Ok(pair) = worker::worker_sys::WebSocketRequestResponsePair::new(
            r#"{"type":"ping"}"#,
            r#"{"type":"pong"}"#,
        ) {
            state.set_websocket_auto_response(&pair);
        }
        Self {
            state,
            env,
            room: RefCell::new(room),
            setlist: RefCell::new(setlist),
            handled: std::cell::Cell::new(0),
            woke_at: now().0,
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        match req.path().as_str() {
            "/connect" => self.join(req).await,
            "/notify" => self.notify(req).await,
            "/stats" => self.stats(),
            _ => Response::error("not found", 404),
        }
    }

    async fn connect(&self, _socket: worker::Socket) -> worker::Result<()> {
        Err(worker::Error::RustError(
            "a live room takes no TCP connections".into(),
        ))
    }

    /// A link's expiry came: its guests leave.
    async fn alarm(&self) -> worker::Result<Response> {
        let _ = self
            .sql()
            .exec("delete from spent where expires <= ?", vec![now().0.into()]);
        self.recheck().await?;
        Response::empty()
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        self.handled.set(self.handled.get() + 1);
        let text = match message {
            WebSocketIncomingMessage::String(s) => Some(s),
            WebSocketIncomingMessage::Binary(_) => None,
        };
        self.message(&ws, text).await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> worker::Result<()> {
        self.gone(&ws);
        let _ = ws.close(Some(1000), Some("bye"));
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        self.gone(&ws);
        Ok(())
    }
}
