//! A city system's webhook receiver on loopback: checks the signature as a
//! receiver must, keeps what it got.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

pub const SECRET: &str = "city-webhook-secret";

/// Events received, in order: `(X-Hotline-Event, body)`.
pub type Got = Arc<Mutex<Vec<(String, Value)>>>;

async fn receive(State(got): State<Got>, headers: HeaderMap, body: String) -> StatusCode {
    let ts: i64 = headers["x-hotline-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    if headers["x-hotline-signature"] != hotline::outbound::signature(SECRET, ts, body.as_bytes()) {
        return StatusCode::UNAUTHORIZED;
    }
    got.lock().unwrap().push((
        headers["x-hotline-event"].to_str().unwrap().to_owned(),
        serde_json::from_str(&body).unwrap(),
    ));
    StatusCode::NO_CONTENT
}

/// Starts a receiver: its URL (signed with [`SECRET`]) and what it got.
pub async fn receiver() -> (String, Got) {
    let got: Got = Arc::default();
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&got));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// The bodies of `event` received so far.
pub fn events(got: &Got, event: &str) -> Vec<Value> {
    got.lock()
        .unwrap()
        .iter()
        .filter(|(e, _)| e == event)
        .map(|(_, v)| v.clone())
        .collect()
}
