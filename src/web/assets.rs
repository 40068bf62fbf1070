//! Static files embedded in the binary: the pages' stylesheet and scripts, the JavaScript
//! helper at `/sdk.js` (importable from any origin) and, when enabled, the demo app at `/demo`.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::config::Settings;
use crate::state::AppState;

/// One embedded file.
struct Asset {
    body: &'static str,
    content_type: &'static str,
    /// Allow every origin to load it (`/sdk.js` is imported by apps on other origins).
    cross_origin: bool,
}

impl Asset {
    const fn js(body: &'static str) -> Asset {
        Asset {
            body,
            content_type: "text/javascript; charset=utf-8",
            cross_origin: false,
        }
    }

    const fn css(body: &'static str) -> Asset {
        Asset {
            body,
            content_type: "text/css; charset=utf-8",
            cross_origin: false,
        }
    }

    const fn html(body: &'static str) -> Asset {
        Asset {
            body,
            content_type: "text/html; charset=utf-8",
            cross_origin: false,
        }
    }

    fn respond(&self) -> Response {
        let mut response = (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(self.content_type),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            self.body,
        )
            .into_response();
        if self.cross_origin {
            response.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
        response
    }
}

static STYLE: Asset = Asset::css(include_str!("../../templates/assets/style.css"));
static PASSKEY_JS: Asset = Asset::js(include_str!("../../templates/assets/passkey.js"));
static WEB_MESSAGE_JS: Asset = Asset::js(include_str!("../../templates/assets/web-message.js"));
static MODEL_CHOICE_JS: Asset = Asset::js(include_str!("../../templates/assets/model-choice.js"));
static SDK_JS: Asset = Asset {
    cross_origin: true,
    ..Asset::js(include_str!("../../sdk/keyward.js"))
};
static DEMO_HTML: Asset = Asset::html(include_str!("../../web/demo/index.html"));
static DEMO_JS: Asset = Asset::js(include_str!("../../web/demo/demo.js"));
static DEMO_CSS: Asset = Asset::css(include_str!("../../web/demo/demo.css"));

/// The asset routes; the demo only when `settings.demo`.
pub fn routes(settings: &Settings) -> Router<AppState> {
    let router = Router::new()
        .route("/assets/style.css", get(|| async { STYLE.respond() }))
        .route("/assets/passkey.js", get(|| async { PASSKEY_JS.respond() }))
        .route(
            "/assets/web-message.js",
            get(|| async { WEB_MESSAGE_JS.respond() }),
        )
        .route(
            "/assets/model-choice.js",
            get(|| async { MODEL_CHOICE_JS.respond() }),
        )
        .route("/sdk.js", get(|| async { SDK_JS.respond() }));
    if !settings.demo {
        return router;
    }
    router
        .route("/demo", get(|| async { DEMO_HTML.respond() }))
        .route("/demo/", get(|| async { DEMO_HTML.respond() }))
        .route("/demo/demo.js", get(|| async { DEMO_JS.respond() }))
        .route("/demo/demo.css", get(|| async { DEMO_CSS.respond() }))
}
