//! Signing in and out: the form with its own token, the throttles, the session cookie.

use super::*;

pub(super) async fn login_page(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if state.operator(&headers).is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let any = state.with_store(|s, _, _| users::any(s)).await?;
    Ok(login_form(StatusCode::OK, None, any))
}

/// The sign-in form with a fresh token, set also in a cookie: a POST must carry both.
pub(super) fn login_form(status: StatusCode, message: Option<&str>, any: bool) -> Response {
    let token = random_id();
    let mut r = (
        status,
        Html(pages::login(message, any, &token).into_string()),
    )
        .into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/masuk"
        ))
        .expect("cookie"),
    );
    r
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    nama: String,
    sandi: String,
    #[serde(default)]
    masuk: String,
}

pub(super) async fn login(
    State(state): State<Shared>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    // The form this browser loaded, not one posted from elsewhere.
    if !cookie_named(&headers, LOGIN_COOKIE)
        .is_some_and(|c| karya_shared::web::same_secret(&c, &f.masuk))
    {
        return Ok(login_form(
            StatusCode::FORBIDDEN,
            Some(t::login_form_stale()),
            true,
        ));
    }
    // An address that failed too often this minute: refused without a password check.
    // Counted before the check, so parallel attempts cannot pass the limit; a success
    // gives its count back.
    if state.failures.take(&peer.ip()).is_err() {
        return Ok(login_form(
            StatusCode::TOO_MANY_REQUESTS,
            Some(t::login_from_here()),
            true,
        ));
    }
    // At most a few password checks at once; the rest wait a little, then are told to.
    let Ok(Ok(_turn)) =
        tokio::time::timeout(LOGIN_WAIT, state.logins.clone().acquire_owned()).await
    else {
        return Ok(login_form(
            StatusCode::TOO_MANY_REQUESTS,
            Some(t::login_busy()),
            true,
        ));
    };
    let name = f.nama.trim().to_string();
    let result = state
        .with_store(move |s, _, _| users::login(s, &name, &f.sandi))
        .await?;
    match result {
        Ok(tag) => {
            state.failures.give_back(&peer.ip());
            let sid = random_id();
            state.sessions.lock().expect("sessions").insert(
                sid.clone(),
                Session {
                    user: f.nama.trim().to_string(),
                    csrf: random_id(),
                    seen: Instant::now(),
                    tag,
                },
            );
            let mut r = Redirect::to("/").into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&format!(
                    "{COOKIE}={sid}; HttpOnly; SameSite=Strict; Path=/"
                ))
                .expect("cookie"),
            );
            Ok(r)
        }
        Err(why) => {
            let message = match why {
                users::LoginRefused::Wrong => t::login_wrong().to_string(),
                users::LoginRefused::SlowDown(secs) => t::login_slowed(secs),
            };
            Ok(login_form(StatusCode::UNAUTHORIZED, Some(&message), true))
        }
    }
}

pub(super) async fn logout(
    State(state): State<Shared>,
    Posted(op, _): Posted<CsrfForm>,
) -> Result<Response, PageError> {
    state.sessions.lock().expect("sessions").remove(&op.sid);
    let mut r = Redirect::to("/masuk").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("karya_sesi=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(r)
}
