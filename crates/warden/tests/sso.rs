//! Single sign-on: a test issuer (discovery, JWKS, a token endpoint that
//! checks PKCE) signs ID tokens; Warden signs a person in with the role
//! their groups map to, and refuses a token whose signature, issuer,
//! audience or nonce is wrong.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use common::DemoServer;
use ring::signature::KeyPair;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// What the issuer puts in (or does to) the next ID token.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Twist {
    None,
    OtherKey,
    Issuer,
    Audience,
    Nonce,
}

struct Issuer {
    url: String,
    twist: Arc<Mutex<Twist>>,
    /// The last authorize request's nonce and PKCE challenge, as the test saw them.
    flow: Arc<Mutex<BTreeMap<String, String>>>,
}

fn es256_key() -> (jsonwebtoken::EncodingKey, serde_json::Value) {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 =
        ring::signature::EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .unwrap();
    let public = pair.public_key().as_ref();
    let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
                                 "x": b64(&public[1..33]), "y": b64(&public[33..65])});
    (jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()), jwk)
}

fn issuer() -> Issuer {
    let (key, jwk) = es256_key();
    let (other, _) = es256_key();
    let twist = Arc::new(Mutex::new(Twist::None));
    let flow = Arc::new(Mutex::new(BTreeMap::new()));
    let (t, f) = (twist.clone(), flow.clone());
    // The issuer's own URL is known only once it listens; the handler reads it from here.
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let url = common::http_stand(move |_, path, body| {
        let base = b.lock().unwrap().clone();
        match path {
            "/.well-known/openid-configuration" => (
                200,
                serde_json::json!({
                "issuer": base, "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"), "jwks_uri": format!("{base}/jwks"),
                "id_token_signing_alg_values_supported": ["ES256"]}),
            ),
            "/jwks" => (200, serde_json::json!({"keys": [jwk]})),
            "/token" => {
                let form: BTreeMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
                let flow = f.lock().unwrap().clone();
                // PKCE: the verifier must hash to the challenge the authorize request carried.
                let challenge =
                    b64(ring::digest::digest(&ring::digest::SHA256, form["code_verifier"].as_bytes()).as_ref());
                if form.get("code").map(String::as_str) != Some("the-code")
                    || form["grant_type"] != "authorization_code"
                    || form["client_id"] != "warden"
                    || flow.get("code_challenge") != Some(&challenge)
                {
                    return (400, serde_json::json!({"error": "invalid_grant"}));
                }
                let twist = *t.lock().unwrap();
                let now = jiff::Timestamp::now().as_second();
                let claims = serde_json::json!({
                    "iss": if twist == Twist::Issuer { "https://evil.example".to_owned() } else { base.clone() },
                    "aud": if twist == Twist::Audience { "someone-else" } else { "warden" },
                    "sub": "248289761001", "email": "ana.silva@example.com",
                    "groups": ["staff", "soc-leads"],
                    "nonce": if twist == Twist::Nonce { "replayed".to_owned() } else { flow["nonce"].clone() },
                    "iat": now, "exp": now + 300});
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
                header.kid = Some("k1".into());
                let signer = if twist == Twist::OtherKey { &other } else { &key };
                let id_token = jsonwebtoken::encode(&header, &claims, signer).unwrap();
                (200, serde_json::json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}))
            }
            _ => (404, serde_json::json!({})),
        }
    });
    *base.lock().unwrap() = url.clone();
    Issuer { url, twist, flow }
}

/// Starts a sign-in as a browser would, and comes back from the issuer with a code.
fn sign_in(s: &DemoServer, iss: &Issuer, twist: Twist) -> (common::Client, common::Response) {
    *iss.twist.lock().unwrap() = twist;
    let mut c = s.client();
    let r = c.get("/login/oidc");
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.header("location").unwrap().to_owned();
    assert!(to.starts_with(&format!("{}/authorize?", iss.url)), "{to}");
    let query: BTreeMap<String, String> =
        form_urlencoded::parse(to.split_once('?').unwrap().1.as_bytes()).into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["response_type"], "code");
    assert!(query["scope"].split(' ').any(|s| s == "openid"));
    *iss.flow.lock().unwrap() = query.clone();
    let r = c.get(&format!("/login/oidc/callback?code=the-code&state={}", query["state"]));
    (c, r)
}

#[test]
fn a_person_signs_in_through_oidc_with_the_mapped_role_and_bad_tokens_are_refused() {
    let iss = issuer();
    let s = DemoServer::start_with(&[
        ("WARDEN_OIDC__ISSUER", &iss.url),
        ("WARDEN_OIDC__CLIENT_ID", "warden"),
        ("WARDEN_OIDC__ROLES_CLAIM", "groups"),
        ("WARDEN_OIDC__ROLES", "{soc-leads = \"senior_analyst\"}"),
    ]);
    let login = s.client().get("/login?next=/approvals");
    assert!(login.body.contains("oidc?next=%2Fapprovals\">Sign in with single sign-on"), "{}", login.body);
    let (mut c, r) = sign_in(&s, &iss, Twist::None);
    assert_eq!(r.status, 303, "{}", r.body);
    let page = c.get("/approvals");
    assert_eq!(page.status, 200, "signed in: {}", page.body);
    assert!(page.body.contains("sso.ana.silva@example.com"), "{}", page.body);
    assert!(page.body.contains("(senior_analyst)"), "the mapped role: {}", page.body);

    for (twist, says) in [
        (Twist::OtherKey, "Invalid"),
        (Twist::Issuer, "Issuer"),
        (Twist::Audience, "Audience"),
        (Twist::Nonce, "nonce"),
    ] {
        let (mut c, r) = sign_in(&s, &iss, twist);
        assert_eq!(r.status, 401, "{twist:?}: {}", r.body);
        assert!(r.body.to_lowercase().contains(&says.to_lowercase()), "{twist:?}: {}", r.body);
        assert_ne!(c.get("/approvals").status, 200, "{twist:?} gave no session");
    }
    // A callback that did not start in this browser is refused too.
    let mut c = s.client();
    let r = c.get("/login/oidc/callback?code=the-code&state=guessed");
    assert_eq!(r.status, 401, "{}", r.body);
}
