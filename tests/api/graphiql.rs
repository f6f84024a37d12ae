//! GraphiQL from the binary: the page names only its own assets, each is served with its type
//! and a strict Content-Security-Policy, and the third-party files are those published.
//! `.ci/graphiql/run.sh` opens it in a real browser with no network.

use cosell::http::graphiql::{ASSETS, CONTENT_SECURITY_POLICY};
use sha2::{Digest, Sha256};

use crate::helpers::*;

#[test]
fn the_third_party_files_are_those_published() {
    for a in ASSETS {
        if let Some(expected) = a.sha256 {
            let got: String = Sha256::digest(a.bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(got, expected, "{}", a.name);
        }
    }
}

#[tokio::test]
async fn the_page_and_its_assets_come_from_this_server_only() {
    let app = spawn_app().await;
    let base = format!("http://{}", app.addr);
    let res = app
        .client
        .get(format!("{base}/graphiql"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-security-policy"],
        CONTENT_SECURITY_POLICY
    );
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = res.text().await.unwrap();
    for other in ["http://", "https://", "\"//", "'//"] {
        assert!(!page.contains(other), "the page names no other origin");
    }
    // Every script and stylesheet is one of the assets, and every asset is served.
    let referenced: Vec<&str> = page
        .split(['"', '\''])
        .filter(|s| s.starts_with("/graphiql/assets/"))
        .collect();
    assert_eq!(referenced.len(), ASSETS.len(), "{referenced:?}");
    for path in referenced {
        let res = app
            .client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let ty = res.headers()["content-type"].to_str().unwrap().to_string();
        let name = path.trim_start_matches("/graphiql/assets/");
        let asset = ASSETS.iter().find(|a| a.name == name).unwrap();
        assert_eq!(ty, asset.content_type, "{path}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.bytes().await.unwrap().as_ref(), asset.bytes, "{path}");
    }
    // cosell's own script reaches no other origin either.
    let own = ASSETS
        .iter()
        .find(|a| a.name == "cosell-graphiql.js")
        .unwrap();
    let text = std::str::from_utf8(own.bytes).unwrap();
    assert!(!text.contains("http://") && !text.contains("https://"));
    let res = app
        .client
        .get(format!("{base}/graphiql/assets/../../etc/passwd"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .client
        .get(format!("{base}/graphiql/assets/evil.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
