//! HTTP layer: axum router (single fallback handler with explicit routing), token
//! endpoint, bearer auth + scopes, rate limiting, fault injection, request log, and a
//! listener whose connections can be killed (to drop a request without any response).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use parking_lot::Mutex;
use rand::Rng;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::http::{json_response, parse_form, percent_decode};
use super::oauth::{self, OAuth};
use super::store::{ApiError, ApiResult, Store};
use super::{DEFAULT_RATE_LIMIT, Faults, RateLimit, RecordedRequest, SimConfig};

// ------------------------------------------------------------------ shared state

pub(crate) struct Settings {
    pub faults: Faults,
    /// `(method, path) -> delay` applied after a request was processed, before the response
    /// is sent: simulates a response lost in transit while the change did happen.
    pub response_delays: Vec<(String, String, Duration)>,
    /// `(method, path, remaining)`: the next `remaining` such requests take effect and are then
    /// answered with a 502, as when the answer is lost behind Auth0's front.
    pub lost_answers: Vec<(String, String, u32)>,
}

pub(crate) struct Bucket {
    rl: RateLimit,
    enforced: bool,
    tokens: f64,
    last: Instant,
}

struct BucketOutcome {
    allowed: bool,
    limit: u32,
    remaining: u32,
    reset: u64,
    retry_after: u64,
}

impl Bucket {
    fn new(rl: Option<RateLimit>) -> Self {
        let enforced = rl.is_some();
        let rl = rl.unwrap_or(DEFAULT_RATE_LIMIT);
        Bucket {
            rl,
            enforced,
            tokens: rl.burst as f64,
            last: Instant::now(),
        }
    }

    /// Spends every token, as another application of the tenant would.
    pub(crate) fn drain(&mut self) {
        self.tokens = 0.0;
        self.last = Instant::now();
    }

    fn take(&mut self) -> BucketOutcome {
        let now = Instant::now();
        let burst = self.rl.burst as f64;
        let rate = if self.rl.per_second > 0.0 {
            self.rl.per_second
        } else {
            1.0 / 3600.0
        };
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * rate).min(burst);
        self.last = now;
        let allowed = if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            !self.enforced
        };
        let secs_to_next = if self.tokens >= burst {
            0.0
        } else {
            (self.tokens.floor() + 1.0 - self.tokens) / rate
        };
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let reset = ((unix + secs_to_next).ceil() as u64).max(unix.floor() as u64 + 1);
        BucketOutcome {
            allowed,
            limit: self.rl.burst,
            remaining: self.tokens.floor().max(0.0) as u32,
            reset,
            retry_after: (secs_to_next.ceil() as u64).max(1),
        }
    }
}

pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub settings: Mutex<Settings>,
    pub(crate) bucket: Mutex<Bucket>,
    pub(crate) oauth: OAuth,
    pub requests: Mutex<Vec<RecordedRequest>>,
    conns: Mutex<Vec<Weak<ConnState>>>,
}

impl Shared {
    pub fn new(cfg: SimConfig) -> Self {
        let mut store = Store::new(&cfg.domain, &cfg.audiences);
        for (name, strategy) in &cfg.connections {
            if let Err(e) = store.add_connection(name, strategy) {
                panic!("SimConfig::connections: {e}");
            }
        }
        store.enable_client_connections = cfg.enable_client_connections;
        oauth::seed_management_client(&mut store, &cfg);
        let oauth = OAuth::new(&cfg);
        oauth.set_management_ttl(&mut store, cfg.token_ttl);
        Shared {
            store: Mutex::new(store),
            settings: Mutex::new(Settings {
                faults: cfg.faults,
                response_delays: Vec::new(),
                lost_answers: Vec::new(),
            }),
            bucket: Mutex::new(Bucket::new(cfg.rate_limit)),
            oauth,
            requests: Mutex::new(Vec::new()),
            conns: Mutex::new(Vec::new()),
        }
    }

    pub fn set_rate_limit(&self, rl: Option<RateLimit>) {
        *self.bucket.lock() = Bucket::new(rl);
    }

    pub fn revoke_tokens(&self) {
        self.oauth.revoke_tokens();
    }

    pub fn kill_all_connections(&self) {
        for c in self.conns.lock().drain(..) {
            if let Some(c) = c.upgrade() {
                c.kill();
            }
        }
    }
}

// ------------------------------------------------------------------ killable connections

pub(crate) struct ConnState {
    killed: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl ConnState {
    fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        if let Some(w) = self.waker.lock().take() {
            w.wake();
        }
    }
}

/// A TCP stream that can be cut from the request handler: once killed, reads see EOF and
/// writes fail, so hyper closes the connection without sending a response.
pub(crate) struct KillableStream {
    inner: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.state.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        *this.state.waker.lock() = Some(cx.waker().clone());
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.state.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "dropped by auth0-sim",
            )));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.state.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "dropped by auth0-sim",
            )));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

pub(crate) struct KillListener {
    inner: TcpListener,
    shared: Arc<Shared>,
}

impl Listener for KillListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((s, addr)) => {
                    let _ = s.set_nodelay(true);
                    let state = Arc::new(ConnState {
                        killed: AtomicBool::new(false),
                        waker: Mutex::new(None),
                    });
                    {
                        let mut conns = self.shared.conns.lock();
                        conns.retain(|w| w.strong_count() > 0);
                        conns.push(Arc::downgrade(&state));
                    }
                    return (KillableStream { inner: s, state }, addr);
                }
                Err(e) => {
                    tracing::debug!("auth0-sim accept error: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Connection handle available to the handler.
#[derive(Clone)]
pub(crate) struct ConnCtl(Arc<ConnState>);

impl Connected<IncomingStream<'_, KillListener>> for ConnCtl {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        ConnCtl(stream.io().state.clone())
    }
}

pub(crate) async fn serve(
    shared: Arc<Shared>,
    addr: SocketAddr,
) -> io::Result<(
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = Router::new().fallback(handle).with_state(shared.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let listener = KillListener {
        inner: listener,
        shared,
    };
    let task = tokio::spawn(async move {
        let server = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<ConnCtl>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(e) = server.await {
            tracing::warn!("auth0-sim server error: {e}");
        }
    });
    Ok((local, tx, task))
}

// ------------------------------------------------------------------ helpers

fn empty_response(status: u16) -> Response {
    StatusCode::from_u16(status)
        .unwrap_or(StatusCode::NO_CONTENT)
        .into_response()
}

fn err_response(e: &ApiError) -> Response {
    json_response(e.status, &e.body)
}

fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if matches!(k.as_str(), "client_secret" | "client_assertion") && !val.is_null() {
                    *val = json!("[REDACTED]");
                } else {
                    redact(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

type Query = Vec<(String, String)>;

fn q_get<'a>(q: &'a Query, k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn query_error(msg: String) -> ApiError {
    ApiError::new(
        400,
        format!("Query validation error: {msg}"),
        Some("invalid_query_string"),
    )
}

fn q_bool(q: &Query, k: &str) -> Result<Option<bool>, ApiError> {
    match q_get(q, k) {
        None | Some("") => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(query_error(format!(
            "'Expected type boolean but found type string' on property {k} ({v})."
        ))),
    }
}

fn q_int(q: &Query, k: &str, min: i64, max: Option<i64>) -> Result<Option<i64>, ApiError> {
    let Some(v) = q_get(q, k).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let n: i64 = v.parse().map_err(|_| {
        query_error(format!(
            "'Expected type integer but found type string' on property {k}."
        ))
    })?;
    if n < min {
        return Err(query_error(format!(
            "'Value {n} is less than minimum {min}' on property {k}."
        )));
    }
    if let Some(max) = max
        && n > max
    {
        return Err(query_error(format!(
            "'Value {n} is greater than maximum {max}' on property {k}."
        )));
    }
    Ok(Some(n))
}

/// The paging parameters' limits of one list endpoint (from its OAS parameters).
#[derive(Clone, Copy)]
struct Paging {
    /// `per_page` minimum (0 where the simulator always accepted it, 1 where the OAS says so).
    per_page_min: i64,
    /// `per_page` when not given.
    per_page_default: usize,
    /// `take` maximum (its minimum is 1, its default 50 everywhere).
    take_max: i64,
}

/// The clients, client grants and resource servers lists.
const PAGING: Paging = Paging {
    per_page_min: 0,
    per_page_default: 50,
    take_max: 100,
};

/// Checkpoint paging (`from`/`take`, `take` 1..=`take_max`, default 50): `{<key>, next}`,
/// `next` only while more remain. The checkpoint is the position of the next item.
fn checkpoint(items: Vec<Value>, q: &Query, key: &str, take_max: i64) -> ApiResult {
    let take = q_int(q, "take", 1, Some(take_max))?.unwrap_or(50) as usize;
    let from = match q_get(q, "from").filter(|f| !f.is_empty()) {
        None => 0,
        Some(f) => f.parse::<usize>().map_err(|_| {
            ApiError::new(
                400,
                "Invalid checkpoint: from",
                Some("invalid_query_string"),
            )
        })?,
    };
    let page: Vec<Value> = items.iter().skip(from).take(take).cloned().collect();
    let mut out = Map::new();
    out.insert(key.into(), Value::Array(page));
    if from + take < items.len() {
        out.insert("next".into(), json!((from + take).to_string()));
    }
    Ok(Value::Object(out))
}

/// Auth0 list shapes: bare array; `{start,limit,total,<key>}` with `include_totals`;
/// `{<key>, next}` with checkpoint `from`/`take` (which wins over `include_totals`).
fn paginate(items: Vec<Value>, q: &Query, key: &str) -> ApiResult {
    paginate_with(items, q, key, PAGING)
}

fn paginate_with(items: Vec<Value>, q: &Query, key: &str, paging: Paging) -> ApiResult {
    if q_get(q, "take").is_some_and(|t| !t.is_empty()) || q_get(q, "from").is_some() {
        return checkpoint(items, q, key, paging.take_max);
    }
    let per_page = q_int(q, "per_page", paging.per_page_min, Some(100))?;
    let page = q_int(q, "page", 0, None)?.unwrap_or(0) as usize;
    let per_page = per_page
        .map(|p| p as usize)
        .unwrap_or(paging.per_page_default);
    let slice: Vec<Value> = items
        .iter()
        .skip(page * per_page)
        .take(per_page)
        .cloned()
        .collect();
    if q_bool(q, "include_totals")? == Some(true) {
        let mut out = Map::new();
        out.insert("start".into(), json!(page * per_page));
        out.insert("limit".into(), json!(per_page));
        out.insert("total".into(), json!(items.len()));
        out.insert(key.into(), Value::Array(slice));
        Ok(Value::Object(out))
    } else {
        Ok(Value::Array(slice))
    }
}

// ------------------------------------------------------------------ handler

pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnCtl>,
    req: Request,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let headers = req.headers().clone();
    let bytes = match axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => bytes::Bytes::new(),
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let parsed: Option<Result<Value, ()>> = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else if is_form {
        Some(Ok(Value::Object(parse_form(&bytes))))
    } else {
        Some(serde_json::from_slice::<Value>(&bytes).map_err(|_| ()))
    };
    let mut recorded_body = parsed.as_ref().and_then(|p| p.as_ref().ok().cloned());
    if let Some(b) = recorded_body.as_mut() {
        redact(b);
    }

    let (response, status) = if method == Method::POST && path == "/oauth/token" {
        let r = oauth::token_endpoint(&shared.store, &shared.oauth, &headers, &bytes, is_form);
        let s = r.status().as_u16();
        (r, s)
    } else if method == Method::GET && path == "/.well-known/jwks.json" {
        (json_response(200, &shared.oauth.jwks()), 200)
    } else if method == Method::GET && path == "/.well-known/openid-configuration" {
        let domain = shared.store.lock().domain.clone();
        (json_response(200, &oauth::discovery(&domain)), 200)
    } else if path == "/api/v2" || path.starts_with("/api/v2/") {
        api(
            &shared,
            &conn,
            &method,
            &path,
            query.as_deref(),
            &headers,
            parsed,
        )
        .await
    } else {
        (
            json_response(
                404,
                &json!({"statusCode": 404, "error": "Not Found", "message": "Not Found"}),
            ),
            404,
        )
    };
    tracing::info!(target: "auth0_sim", %method, %path, status, "request");
    shared.requests.lock().push(RecordedRequest {
        method: method.to_string(),
        path,
        query,
        status,
        body: recorded_body,
    });
    response
}

fn add_rate_headers(r: &mut Response, o: &BucketOutcome) {
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(o.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(o.remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(o.reset));
}

async fn api(
    shared: &Shared,
    conn: &ConnCtl,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Option<Result<Value, ()>>,
) -> (Response, u16) {
    let faults = shared.settings.lock().faults;
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let (drop_it, error_it, err_503, garbage) = {
        let mut rng = rand::rng();
        (
            faults.drop_rate > 0.0 && rng.random::<f64>() < faults.drop_rate,
            faults.error_rate > 0.0 && rng.random::<f64>() < faults.error_rate,
            rng.random::<bool>(),
            (faults.garbage_rate > 0.0 && rng.random::<f64>() < faults.garbage_rate)
                .then(|| rng.random::<u32>() as usize),
        )
    };
    if drop_it {
        conn.0.kill();
        return (Body::empty().into_response(), 0);
    }
    if let Some(pick) = garbage {
        let answers = super::garbage_answers();
        let (status, content_type, body) = answers[pick % answers.len()].clone();
        let mut r = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            body,
        )
            .into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        return (r, status);
    }
    let outcome = shared.bucket.lock().take();
    let (mut resp, status) = if !outcome.allowed {
        let mut r = json_response(
            429,
            &json!({"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been reached", "errorCode": "too_many_requests"}),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(outcome.retry_after));
        (r, 429)
    } else if error_it {
        let e = if err_503 {
            ApiError::new(503, "Service Unavailable", None)
        } else {
            ApiError::new(500, "Internal Server Error", None)
        };
        (err_response(&e), e.status)
    } else {
        match authorize(shared, headers) {
            Err(e) => (err_response(&e), e.status),
            Ok(scopes) => {
                let q: Query = query
                    .map(|q| {
                        url::form_urlencoded::parse(q.as_bytes())
                            .into_owned()
                            .collect()
                    })
                    .unwrap_or_default();
                let routed = route(shared, &scopes, method, path, &q, body);
                let delay = shared
                    .settings
                    .lock()
                    .response_delays
                    .iter()
                    .find(|(m, p, _)| m.eq_ignore_ascii_case(method.as_str()) && p == path)
                    .map(|(_, _, d)| *d);
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                }
                let lost = {
                    let mut s = shared.settings.lock();
                    match s.lost_answers.iter_mut().find(|(m, p, n)| {
                        *n > 0 && m.eq_ignore_ascii_case(method.as_str()) && p == path
                    }) {
                        Some(entry) => {
                            entry.2 -= 1;
                            true
                        }
                        None => false,
                    }
                };
                if lost {
                    let e = ApiError::new(502, "Bad Gateway", None);
                    (err_response(&e), e.status)
                } else {
                    match routed {
                        Ok((status, Some(v))) => (json_response(status, &v), status),
                        Ok((status, None)) => (empty_response(status), status),
                        Err(e) => (err_response(&e), e.status),
                    }
                }
            }
        }
    };
    add_rate_headers(&mut resp, &outcome);
    (resp, status)
}

fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<Vec<String>, ApiError> {
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ApiError::new(401, "Missing authentication", None));
    };
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::new(401, "Bad HTTP authentication header format", None))?;
    shared.oauth.management_scopes(token)
}

fn require(scopes: &[String], any_of: &[&str]) -> Result<(), ApiError> {
    if any_of.iter().any(|s| scopes.iter().any(|g| g == s)) {
        Ok(())
    } else {
        Err(ApiError::new(
            403,
            format!("Insufficient scope, expected any of: {}", any_of.join(",")),
            Some("insufficient_scope"),
        ))
    }
}

fn has_keys_scope(scopes: &[String]) -> bool {
    scopes
        .iter()
        .any(|s| s == "read:client_keys" || s == "read:client_credentials")
}

const READ_CLIENTS: &[&str] = &[
    "read:clients",
    "read:client_keys",
    "read:client_credentials",
    "read:client_summary",
];
const UPDATE_CLIENTS: &[&str] = &[
    "update:clients",
    "update:client_keys",
    "update:client_credentials",
];

/// Fields selection (`fields`, `include_fields`) plus secret visibility.
struct ClientView {
    fields: Fields,
    secrets: bool,
}

impl ClientView {
    fn from_query(q: &Query, scopes: &[String]) -> Result<Self, ApiError> {
        let fields = Fields::from_query(q)?;
        let secrets = has_keys_scope(scopes);
        if let Some(f) = &fields.fields
            && fields.include
            && !secrets
        {
            let forbidden: Vec<&str> = f
                .iter()
                .map(String::as_str)
                .filter(|f| {
                    matches!(
                        *f,
                        "client_secret" | "encryption_key" | "client_authentication_methods"
                    )
                })
                .collect();
            if !forbidden.is_empty() {
                return Err(ApiError::new(
                    403,
                    format!(
                        "You cannot read the following fields: {}",
                        forbidden.join(",")
                    ),
                    Some("insufficient_scope"),
                ));
            }
        }
        Ok(ClientView { fields, secrets })
    }

    fn render(&self, c: &Value) -> Value {
        let mut c = c.as_object().cloned().unwrap_or_default();
        hide_secret_of_key_clients(&mut c);
        if !self.secrets {
            c.remove("client_secret");
            c.remove("encryption_key");
            c.remove("client_authentication_methods");
        }
        self.fields.apply(Value::Object(c))
    }
}

/// A client that authenticates with credentials (`client_authentication_methods` set:
/// `private_key_jwt`, `tls_client_auth` or `self_signed_tls_client_auth`) is returned without
/// its `client_secret`, whatever the caller's scopes; the secret is back once the methods are
/// removed (`null`). Recorded: none of the 113 answers to POST, GET and PATCH /clients[/{id}]
/// for such a client has it (TestAccClientAuthenticationMethodsPrivateKeyJWT,
/// …TLSClientAuth, …SelfSignedTLSClientAuth, TestAccClientCredentials*, TestAccClientExpressApp*,
/// and the clients listed by TestAccDataClients/TestAccDataClientByName), while the other
/// answers read with `read:client_keys` have it. The recorder keeps a secret it sees (it only
/// replaces its value by `[REDACTED]`, `internal/acctest/http_recorder.go`), so the absence is
/// Auth0's. DOCS configure-private-key-jwt: "The client_secret parameter will be hidden once
/// the Private Key JWT configuration is complete".
fn hide_secret_of_key_clients(c: &mut Map<String, Value>) {
    if c.get("client_authentication_methods")
        .is_some_and(|m| !m.is_null())
    {
        c.remove("client_secret");
    }
}

/// The answer to a PATCH of a client registered from a Client ID Metadata Document lacks its
/// `external_*` fields, which every GET has (recorded: both PATCH answers of
/// TestAccClientCIMD).
const NOT_IN_PATCH_ANSWERS: &[&str] = &[
    "external_client_id",
    "external_metadata_type",
    "external_metadata_created_by",
];

/// `fields` / `include_fields` on list items other than clients (no secret rules).
struct Fields {
    fields: Option<Vec<String>>,
    include: bool,
}

impl Fields {
    fn from_query(q: &Query) -> Result<Self, ApiError> {
        let fields = q_get(q, "fields").filter(|f| !f.is_empty()).map(|f| {
            f.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        });
        Ok(Fields {
            fields,
            include: q_bool(q, "include_fields")?.unwrap_or(true),
        })
    }

    fn apply(&self, v: Value) -> Value {
        match (&self.fields, v) {
            (Some(f), Value::Object(mut o)) => {
                o.retain(|k, _| f.contains(k) == self.include);
                Value::Object(o)
            }
            (_, v) => v,
        }
    }
}

/// Repeated `strategy=` values (OAS: `style: form, explode: true`), each one of the OAS
/// `ConnectionStrategyEnum` (else Auth0's 400 for a query that does not validate).
fn q_strategies(q: &Query) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for (k, v) in q {
        if k != "strategy" || v.is_empty() {
            continue;
        }
        if !super::connections::is_connection_strategy(v) {
            return Err(query_error(format!(
                "'No enum match for: \"{v}\"' on property strategy."
            )));
        }
        out.push(v.clone());
    }
    Ok(out)
}

/// Whether connection `c` has one of `strategies` (none given: every connection).
fn strategy_admitted(strategies: &[String], c: &Value) -> bool {
    strategies.is_empty()
        || c["strategy"]
            .as_str()
            .is_some_and(|s| strategies.iter().any(|w| w == s))
}

/// The connections list's paging (OAS GET /connections: `per_page` 1..100, "Defaults to 100
/// if not provided"; `take` 1..100, default 50).
const CONNECTIONS_PAGING: Paging = Paging {
    per_page_min: 1,
    per_page_default: 100,
    take_max: 100,
};

fn parse_body(body: Option<Result<Value, ()>>) -> Result<Value, ApiError> {
    match body {
        None => Ok(json!({})),
        Some(Ok(v)) => Ok(v),
        Some(Err(())) => Err(ApiError::new(
            400,
            "Invalid request payload JSON format",
            Some("invalid_body"),
        )),
    }
}

type Routed = Result<(u16, Option<Value>), ApiError>;

/// A resource server named in the path by id or by identifier. The path segment is already
/// percent-decoded once; Auth0 also finds an identifier that was encoded twice
/// (`https:%252F%252F…`, recorded in TestAccDataSourceResourceServer.yaml), so a segment that
/// still holds escapes is decoded again if it matches nothing as is.
fn rs_index(store: &Store, id: &str) -> Option<usize> {
    store.find_rs(id).or_else(|| {
        id.contains('%')
            .then(|| percent_decode(id))
            .and_then(|d| store.find_rs(&d))
    })
}

fn not_found() -> ApiError {
    ApiError::new(404, "Not Found", None)
}

fn route(
    shared: &Shared,
    scopes: &[String],
    method: &Method,
    path: &str,
    q: &Query,
    body: Option<Result<Value, ()>>,
) -> Routed {
    let segs: Vec<String> = path
        .trim_start_matches("/api/v2")
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = method.as_str();
    match (m, segs.as_slice()) {
        // ------------------------------------------------ clients
        ("GET", ["clients"]) => {
            require(scopes, READ_CLIENTS)?;
            let view = ClientView::from_query(q, scopes)?;
            let is_global = q_bool(q, "is_global")?;
            let first_party = q_bool(q, "is_first_party")?;
            let app_types: Option<Vec<&str>> = q_get(q, "app_type")
                .filter(|s| !s.is_empty())
                .map(|s| s.split(',').collect());
            let store = shared.store.lock();
            let items: Vec<Value> = store
                .clients
                .iter()
                .filter(|c| is_global.is_none_or(|g| c["global"].as_bool().unwrap_or(false) == g))
                .filter(|c| {
                    first_party.is_none_or(|f| c["is_first_party"].as_bool().unwrap_or(true) == f)
                })
                .filter(|c| {
                    app_types
                        .as_ref()
                        .is_none_or(|ts| c["app_type"].as_str().is_some_and(|t| ts.contains(&t)))
                })
                .map(|c| view.render(c))
                .collect();
            Ok((200, Some(paginate(items, q, "clients")?)))
        }
        ("POST", ["clients"]) => {
            require(scopes, &["create:clients"])?;
            let b = parse_body(body)?;
            if b.get("client_authentication_methods")
                .is_some_and(|v| !v.is_null())
            {
                require(scopes, &["create:client_credentials"])?;
            }
            let c = shared.store.lock().create_client(b)?;
            // The creation response carries the secret (the caller just created it), unless
            // the client authenticates with credentials.
            let mut c = c.as_object().cloned().unwrap_or_default();
            hide_secret_of_key_clients(&mut c);
            Ok((201, Some(Value::Object(c))))
        }
        ("GET", ["clients", id]) => {
            require(scopes, READ_CLIENTS)?;
            let view = ClientView::from_query(q, scopes)?;
            let store = shared.store.lock();
            let c = store
                .get_client(id)
                .ok_or_else(ApiError::client_not_found)?;
            Ok((200, Some(view.render(c))))
        }
        ("PATCH", ["clients", id]) => {
            require(scopes, UPDATE_CLIENTS)?;
            let b = parse_body(body)?;
            if b.get("client_secret").is_some() {
                require(scopes, &["update:client_keys"])?;
            }
            let c = shared.store.lock().patch_client(id, b)?;
            let view = ClientView {
                fields: Fields {
                    fields: None,
                    include: true,
                },
                secrets: has_keys_scope(scopes),
            };
            let mut answer = view.render(&c);
            if let Some(o) = answer.as_object_mut() {
                o.retain(|k, _| !NOT_IN_PATCH_ANSWERS.contains(&k.as_str()));
            }
            Ok((200, Some(answer)))
        }
        ("DELETE", ["clients", id]) => {
            require(scopes, &["delete:clients"])?;
            shared.store.lock().delete_client(id);
            Ok((204, None))
        }
        // ------------------------------------------------ client credentials
        ("GET", ["clients", id, "credentials"]) => {
            require(scopes, &["read:client_credentials"])?;
            let store = shared.store.lock();
            store
                .get_client(id)
                .ok_or_else(ApiError::client_not_found)?;
            // A bare array, whatever the paging parameters (recorded with
            // `include_totals=true&per_page=50`).
            Ok((200, Some(Value::Array(store.client_credentials(id)))))
        }
        ("POST", ["clients", id, "credentials"]) => {
            require(scopes, &["create:client_credentials"])?;
            let b = parse_body(body)?;
            Ok((201, Some(shared.store.lock().create_credential(id, b)?)))
        }
        ("GET", ["clients", id, "credentials", cred]) => {
            require(scopes, &["read:client_credentials"])?;
            let store = shared.store.lock();
            store
                .get_client(id)
                .ok_or_else(ApiError::client_not_found)?;
            let c = store
                .credential(id, cred)
                .ok_or_else(super::credentials::credential_not_found)?;
            Ok((200, Some(c.view.clone())))
        }
        ("PATCH", ["clients", id, "credentials", cred]) => {
            require(scopes, &["update:client_credentials"])?;
            let b = parse_body(body)?;
            // 200 as recorded (the OAS says 201).
            Ok((
                200,
                Some(shared.store.lock().patch_credential(id, cred, b)?),
            ))
        }
        ("DELETE", ["clients", id, "credentials", cred]) => {
            require(scopes, &["delete:client_credentials"])?;
            shared.store.lock().delete_credential(id, cred)?;
            Ok((204, None))
        }
        ("POST", ["clients", id, "rotate-secret"]) => {
            require(scopes, &["update:client_keys"])?;
            let c = shared.store.lock().rotate_secret(id)?;
            Ok((200, Some(c)))
        }
        ("GET", ["clients", id, "connections"]) => {
            // OAS: "requires the `read:connections` scope and any one of `read:clients` or
            // `read:client_summary`"; its 403 text as the message.
            if !scopes.iter().any(|s| s == "read:connections")
                || !scopes
                    .iter()
                    .any(|s| s == "read:clients" || s == "read:client_summary")
            {
                return Err(ApiError::new(
                    403,
                    "Insufficient scope; expected: read:connections and any of: read:clients or read:client_summary.",
                    Some("insufficient_scope"),
                ));
            }
            let strategies = q_strategies(q)?;
            let fields = Fields::from_query(q)?;
            // The query is checked before the client is looked up.
            q_int(q, "take", 1, Some(100))?;
            let store = shared.store.lock();
            store
                .get_client(id)
                .ok_or_else(ApiError::client_not_found)?;
            let items: Vec<Value> = store
                .client_connections(id)
                .into_iter()
                .filter(|c| strategy_admitted(&strategies, c))
                .map(|c| fields.apply(c))
                .collect();
            // Checkpoint paging only (`take` 1..100, default 50).
            Ok((200, Some(checkpoint(items, q, "connections", 100)?)))
        }
        // ------------------------------------------------ connections
        ("GET", ["connections"]) => {
            require(scopes, &["read:connections"])?;
            let strategies = q_strategies(q)?;
            let name = q_get(q, "name").filter(|n| !n.is_empty());
            let fields = Fields::from_query(q)?;
            let items: Vec<Value> = shared
                .store
                .lock()
                .connections
                .iter()
                .filter(|c| name.is_none_or(|n| c.name() == n))
                .filter(|c| strategy_admitted(&strategies, &c.view))
                .map(|c| fields.apply(c.view.clone()))
                .collect();
            Ok((
                200,
                Some(paginate_with(items, q, "connections", CONNECTIONS_PAGING)?),
            ))
        }
        ("GET", ["connections", id, "clients"]) => {
            require(scopes, &["read:connections"])?;
            // The query is checked before the connection is looked up.
            q_int(q, "take", 1, Some(1000))?;
            let store = shared.store.lock();
            let conn = store.connection_by_id(id)?;
            let items: Vec<Value> = conn
                .enabled_clients
                .iter()
                .map(|c| json!({ "client_id": c }))
                .collect();
            // Always the checkpoint shape (`take` 1..1000, default 50).
            Ok((200, Some(checkpoint(items, q, "clients", 1000)?)))
        }
        ("PATCH", ["connections", id, "clients"]) => {
            require(scopes, &["update:connections"])?;
            let b = parse_body(body)?;
            shared.store.lock().patch_connection_clients(id, &b)?;
            Ok((204, None))
        }
        // ------------------------------------------------ client grants
        ("GET", ["client-grants"]) => {
            require(scopes, &["read:client_grants"])?;
            let allow_any = q_bool(q, "allow_any_organization")?;
            let f = |k: &str| q_get(q, k).filter(|v| !v.is_empty()).map(str::to_string);
            let (cid, aud, st, df) = (
                f("client_id"),
                f("audience"),
                f("subject_type"),
                f("default_for"),
            );
            let store = shared.store.lock();
            let items: Vec<Value> = store
                .grants
                .iter()
                .filter(|g| cid.as_ref().is_none_or(|v| g["client_id"] == v.as_str()))
                .filter(|g| aud.as_ref().is_none_or(|v| g["audience"] == v.as_str()))
                .filter(|g| st.as_ref().is_none_or(|v| g["subject_type"] == v.as_str()))
                .filter(|g| df.as_ref().is_none_or(|v| g["default_for"] == v.as_str()))
                .filter(|g| allow_any != Some(true) || g["allow_any_organization"] == true)
                .map(super::store::grant_view)
                .collect();
            Ok((200, Some(paginate(items, q, "client_grants")?)))
        }
        ("POST", ["client-grants"]) => {
            require(scopes, &["create:client_grants"])?;
            let g = shared.store.lock().create_grant(parse_body(body)?)?;
            Ok((201, Some(g)))
        }
        ("GET", ["client-grants", id]) => {
            require(scopes, &["read:client_grants"])?;
            Ok((200, Some(shared.store.lock().get_grant(id)?)))
        }
        ("PATCH", ["client-grants", id]) => {
            require(scopes, &["update:client_grants"])?;
            Ok((
                200,
                Some(shared.store.lock().patch_grant(id, parse_body(body)?)?),
            ))
        }
        ("DELETE", ["client-grants", id]) => {
            require(scopes, &["delete:client_grants"])?;
            shared.store.lock().delete_grant(id);
            Ok((204, None))
        }
        // ------------------------------------------------ resource servers
        ("GET", ["resource-servers"]) => {
            require(scopes, &["read:resource_servers"])?;
            // OAS: `per_page` 1..100; `identifiers` is an array (`identifiers=a&identifiers=b`).
            q_int(q, "per_page", 1, Some(100))?;
            let wanted: Vec<&str> = q
                .iter()
                .filter(|(k, v)| k == "identifiers" && !v.is_empty())
                .map(|(_, v)| v.as_str())
                .collect();
            let items: Vec<Value> = shared
                .store
                .lock()
                .resource_servers
                .iter()
                .filter(|r| {
                    wanted.is_empty()
                        || r["identifier"]
                            .as_str()
                            .is_some_and(|i| wanted.contains(&i))
                })
                .cloned()
                .collect();
            Ok((200, Some(paginate(items, q, "resource_servers")?)))
        }
        ("POST", ["resource-servers"]) => {
            require(scopes, &["create:resource_servers"])?;
            Ok((
                201,
                Some(
                    shared
                        .store
                        .lock()
                        .create_resource_server(parse_body(body)?)?,
                ),
            ))
        }
        ("GET", ["resource-servers", id]) => {
            require(scopes, &["read:resource_servers"])?;
            let store = shared.store.lock();
            let idx = rs_index(&store, id).ok_or_else(|| {
                ApiError::new(
                    404,
                    "The resource server does not exist",
                    Some("inexistent_resource_server"),
                )
            })?;
            Ok((200, Some(store.resource_servers[idx].clone())))
        }
        ("PATCH", ["resource-servers", id]) => {
            require(scopes, &["update:resource_servers"])?;
            let b = parse_body(body)?;
            let mut store = shared.store.lock();
            let key = rs_index(&store, id)
                .map(|i| {
                    store.resource_servers[i]["id"]
                        .as_str()
                        .unwrap_or(id)
                        .to_string()
                })
                .unwrap_or_else(|| id.to_string());
            Ok((200, Some(store.patch_resource_server(&key, b)?)))
        }
        ("DELETE", ["resource-servers", id]) => {
            require(scopes, &["delete:resource_servers"])?;
            let mut store = shared.store.lock();
            if let Some(i) = rs_index(&store, id) {
                let key = store.resource_servers[i]["id"]
                    .as_str()
                    .unwrap_or(id)
                    .to_string();
                store.delete_resource_server(&key)?;
            }
            Ok((204, None))
        }
        _ => Err(not_found()),
    }
}
