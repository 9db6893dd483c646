//! Signed checkpoints in the transparency-log formats (C2SP `tlog-checkpoint`
//! and `signed-note`), with Ed25519 keys in the signed-note key encodings:
//!
//! ```text
//! <origin>
//! <tree size>
//! <base64 root hash>
//!
//! — <key name> <base64(key id ‖ signature)>
//! ```
//!
//! The key id is the first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public
//! key). A verifier key is written `name+hexid+base64(0x01‖public key)`, a
//! signer key `PRIVATE+KEY+name+hexid+base64(0x01‖seed)`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

const ED25519: u8 = 0x01;
const SIG_PREFIX: &str = "\u{2014} ";

/// What a checkpoint commits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Names the log; a checkpoint for another log does not verify against this one.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The signed text: origin, size and base64 root, one per line.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root))
    }

    fn parse_body(body: &str) -> Result<Self, NoteError> {
        let mut lines = body.lines();
        let bad = |what: &str| NoteError::Malformed(what.to_owned());
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or_else(|| bad("no origin line"))?;
        let size = lines.next().and_then(|s| s.parse().ok()).ok_or_else(|| bad("no tree size line"))?;
        let root = lines
            .next()
            .and_then(|r| B64.decode(r).ok())
            .and_then(|r| <Hash>::try_from(r.as_slice()).ok())
            .ok_or_else(|| bad("no base64 SHA-256 root line"))?;
        Ok(Checkpoint { origin: origin.to_owned(), size, root })
    }
}

/// Why a key or a note could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    #[error("malformed key: {0}")]
    Key(String),
    #[error("no signature by a trusted key")]
    NoTrustedSignature,
    #[error("the signature by {0} does not verify: the checkpoint was altered or forged")]
    BadSignature(String),
}

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ED25519]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

/// A checkpoint signing key. Its text form is a secret: keep it outside the
/// database and never log it.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    id: u32,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({}+{:08x})", self.name, self.id)
    }
}

impl NoteSigner {
    /// A key from 32 random bytes.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::Key(format!("key name {name:?} must be non-empty, without spaces or '+'")));
        }
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(NoteSigner { name: name.to_owned(), key, id })
    }

    /// Reads `PRIVATE+KEY+name+hexid+base64(0x01‖seed)`.
    pub fn from_text(text: &str) -> Result<Self, NoteError> {
        let bad = || NoteError::Key("expected PRIVATE+KEY+<name>+<id>+<key>".into());
        let rest = text.trim().strip_prefix("PRIVATE+KEY+").ok_or_else(bad)?;
        // The key is base64 and may itself contain '+': only the first two '+' separate fields.
        let mut parts = rest.splitn(3, '+');
        let (name, id, key) =
            (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
        let raw = B64.decode(key).map_err(|_| bad())?;
        if raw.len() != 33 || raw[0] != ED25519 {
            return Err(NoteError::Key("only Ed25519 keys are supported".into()));
        }
        let signer = Self::from_seed(name, raw[1..].try_into().map_err(|_| bad())?)?;
        if format!("{:08x}", signer.id) != id {
            return Err(NoteError::Key("the key id does not match the key".into()));
        }
        Ok(signer)
    }

    pub fn to_text(&self) -> String {
        let mut raw = vec![ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), key: self.key.verifying_key(), id: self.id }
    }

    /// The signed checkpoint note.
    pub fn sign(&self, cp: &Checkpoint) -> String {
        let body = cp.body();
        let sig = self.key.sign(body.as_bytes());
        let mut blob = self.id.to_be_bytes().to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        format!("{body}\n{SIG_PREFIX}{} {}\n", self.name, B64.encode(blob))
    }
}

/// A public key that checkpoints are checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    id: u32,
}

impl NoteVerifier {
    /// Reads `name+hexid+base64(0x01‖public key)`.
    pub fn from_text(text: &str) -> Result<Self, NoteError> {
        let bad = || NoteError::Key("expected <name>+<id>+<key>".into());
        let mut parts = text.trim().splitn(3, '+');
        let (name, id, key) =
            (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
        if !valid_name(name) {
            return Err(bad());
        }
        let raw = B64.decode(key).map_err(|_| bad())?;
        if raw.len() != 33 || raw[0] != ED25519 {
            return Err(NoteError::Key("only Ed25519 keys are supported".into()));
        }
        let bytes: [u8; 32] = raw[1..].try_into().map_err(|_| bad())?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| NoteError::Key("not an Ed25519 public key".into()))?;
        let computed = key_id(name, &bytes);
        if format!("{computed:08x}") != id {
            return Err(NoteError::Key("the key id does not match the key".into()));
        }
        Ok(NoteVerifier { name: name.to_owned(), key, id: computed })
    }

    pub fn to_text(&self) -> String {
        let mut raw = vec![ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `name+hexid`, how a key is named in reports.
    pub fn label(&self) -> String {
        format!("{}+{:08x}", self.name, self.id)
    }
}

/// Parses a signed checkpoint and checks it against trusted keys: at least one
/// signature by a trusted key, and every signature by a trusted key valid.
/// Returns the checkpoint and the labels of the keys that signed it.
pub fn open(note: &str, trusted: &[NoteVerifier]) -> Result<(Checkpoint, Vec<String>), NoteError> {
    let split = note.find("\n\n").ok_or_else(|| NoteError::Malformed("no blank line before the signatures".into()))?;
    let (body, sigs) = (&note[..split + 1], &note[split + 2..]);
    let cp = Checkpoint::parse_body(body)?;
    let mut signed_by = Vec::new();
    for line in sigs.lines().filter(|l| !l.is_empty()) {
        let rest =
            line.strip_prefix(SIG_PREFIX).ok_or_else(|| NoteError::Malformed("signature line without '— '".into()))?;
        let (name, b64) =
            rest.split_once(' ').ok_or_else(|| NoteError::Malformed("signature line without a key name".into()))?;
        let blob = B64.decode(b64).map_err(|_| NoteError::Malformed("signature is not base64".into()))?;
        if blob.len() < 4 {
            return Err(NoteError::Malformed("signature too short".into()));
        }
        let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
        let Some(v) = trusted.iter().find(|v| v.name == name && v.id == id) else { continue };
        let sig = <[u8; 64]>::try_from(&blob[4..])
            .map(|b| ed25519_dalek::Signature::from_bytes(&b))
            .map_err(|_| NoteError::BadSignature(v.label()))?;
        v.key.verify_strict(body.as_bytes(), &sig).map_err(|_| NoteError::BadSignature(v.label()))?;
        signed_by.push(v.label());
    }
    if signed_by.is_empty() {
        return Err(NoteError::NoTrustedSignature);
    }
    Ok((cp, signed_by))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(seed: u8) -> NoteSigner {
        NoteSigner::from_seed("warden.test", [seed; 32]).unwrap()
    }

    #[test]
    fn a_signed_checkpoint_opens_with_the_public_key_only() {
        let s = signer(7);
        let cp = Checkpoint { origin: "warden.test/log".into(), size: 42, root: [9; 32] };
        let note = s.sign(&cp);
        let v = NoteVerifier::from_text(&s.verifier().to_text()).unwrap();
        let (got, by) = open(&note, &[v]).unwrap();
        assert_eq!(got, cp);
        assert_eq!(by, [s.verifier().label()]);
        assert!(note.starts_with("warden.test/log\n42\n"));
    }

    #[test]
    fn keys_round_trip_through_their_text_forms() {
        // Many seeds, so some keys' base64 contains '+'.
        for seed in 0..64 {
            let s = signer(seed);
            assert_eq!(NoteSigner::from_text(&s.to_text()).unwrap().verifier(), s.verifier());
            assert_eq!(NoteVerifier::from_text(&s.verifier().to_text()).unwrap(), s.verifier());
        }
        let s = signer(3);
        let again = NoteSigner::from_text(&s.to_text()).unwrap();
        assert_eq!(again.verifier(), s.verifier());
        assert!(NoteVerifier::from_text("x+00000000+AQ==").is_err());
        assert!(NoteSigner::from_text(&s.to_text().replacen("+KEY+", "+KEY+x", 1)).is_err());
    }

    #[test]
    fn altered_or_foreign_checkpoints_are_refused() {
        let s = signer(1);
        let note = s.sign(&Checkpoint { origin: "o".into(), size: 5, root: [1; 32] });
        let altered = note.replacen("\n5\n", "\n6\n", 1);
        assert!(matches!(open(&altered, &[s.verifier()]), Err(NoteError::BadSignature(_))));
        assert_eq!(open(&note, &[signer(2).verifier()]), Err(NoteError::NoTrustedSignature));
        assert!(open("garbage", &[s.verifier()]).is_err());
    }
}
