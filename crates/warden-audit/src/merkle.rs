//! The Merkle tree of RFC 9162 §2.1 over SHA-256: leaf hash H(0x00‖entry),
//! node hash H(0x01‖left‖right), inclusion and consistency proofs and their
//! verification, and a compact frontier that yields the root at every size
//! while the log is streamed once.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// MTH(D[n]) over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]): the inclusion proof for leaf `m`. None when `m` is out of range.
pub fn inclusion_proof(m: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if m >= leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    path(m, leaves, &mut out);
    Some(out)
}

fn path(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
    let n = d.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, &d[..k], out);
        out.push(root(&d[k..]));
    } else {
        path(m - k, &d[k..], out);
        out.push(root(&d[..k]));
    }
}

/// PROOF(m, D[n]): the consistency proof between the first `m` leaves and all
/// of them. None unless 0 < m ≤ n.
pub fn consistency_proof(m: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if m == 0 || m > leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    subproof(m, leaves, true, &mut out);
    Some(out)
}

fn subproof(m: usize, d: &[Hash], b: bool, out: &mut Vec<Hash>) {
    let n = d.len();
    if m == n {
        if !b {
            out.push(root(d));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &d[..k], b, out);
        out.push(root(&d[k..]));
    } else {
        subproof(m - k, &d[k..], false, out);
        out.push(root(&d[..k]));
    }
}

/// Why a proof does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("size1 {size1} is larger than size2 {size2}")]
    SizesReversed { size1: u64, size2: u64 },
    #[error("the proof must be empty for these sizes")]
    ExpectedEmpty,
    #[error("the proof is empty")]
    Empty,
    #[error("consistency with the empty tree proves nothing")]
    EmptyTree,
}

/// RFC 9162 §2.1.3.2: does `proof` show that `leaf` is at `index` in the tree
/// of `size` leaves whose root is `root`?
/// `root` is taken as bytes: a verifier is handed roots from outside, and one
/// that is not a SHA-256 digest simply does not match.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &[u8]) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if r.as_slice() == root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// RFC 9162 §2.1.4.2: does `proof` show that the tree of `size1` leaves with
/// root `root1` is a prefix of the tree of `size2` leaves with root `root2`?
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizesReversed { size1, size2 });
    }
    if size1 == 0 {
        // Any tree extends the empty one; a "proof" of it proves nothing and is refused.
        return Err(ProofError::EmptyTree);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::ExpectedEmpty);
        }
        return if root1 == root2 { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    if proof.is_empty() {
        return Err(ProofError::Empty);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(Hash::try_from(root1).map_err(|_| ProofError::RootMismatch)?);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr.as_slice() == root1 && sr.as_slice() == root2 { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest
/// first. Appending is amortised O(1) and the root at the current size costs
/// O(log n), so a verifier can check a checkpoint at every size in one pass.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    /// (height, root) of each perfect subtree, heights strictly decreasing.
    nodes: Vec<(u32, Hash)>,
    size: u64,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(h, left)) = self.nodes.last() {
            if h != node.0 {
                break;
            }
            self.nodes.pop();
            node = (h + 1, node_hash(&left, &node.1));
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The frontier as text (its size, then one `height hex` line per
    /// subtree), so a process can resume it rather than rebuild it from every leaf.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.size);
        for (h, node) in &self.nodes {
            out.push_str(&format!("{h} {}\n", crate::hex(node)));
        }
        out
    }

    /// A frontier written by [`Frontier::to_text`]; `None` unless it is
    /// well-formed (heights strictly decreasing, adding up to the size).
    pub fn from_text(text: &str) -> Option<Frontier> {
        let mut lines = text.lines();
        let size: u64 = lines.next()?.trim().parse().ok()?;
        let mut nodes = Vec::new();
        for line in lines {
            let (h, hex) = line.split_once(' ')?;
            let h: u32 = h.parse().ok()?;
            if hex.len() != 64 || h >= 64 {
                return None;
            }
            let mut node = [0u8; 32];
            for (i, b) in node.iter_mut().enumerate() {
                *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            nodes.push((h, node));
        }
        let decreasing = nodes.windows(2).all(|w| w[0].0 > w[1].0);
        let total: u64 = nodes.iter().map(|(h, _)| 1u64 << h).sum();
        (decreasing && total == size).then_some(Frontier { nodes, size })
    }

    /// MTH of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        let Some(&(_, mut r)) = it.next() else { return empty_root() };
        for (_, left) in it {
            r = node_hash(left, &r);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frontier_resumes_from_its_text() {
        let ls = leaves(37);
        let mut f = Frontier::new();
        for l in &ls[..21] {
            f.push(*l);
        }
        let mut back = Frontier::from_text(&f.to_text()).unwrap();
        for l in &ls[21..] {
            back.push(*l);
        }
        assert_eq!(back.root(), root(&ls));
        assert!(Frontier::from_text("5\n0 00\n").is_none());
        assert!(Frontier::from_text(&f.to_text().replacen("21", "22", 1)).is_none(), "sizes must add up");
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect()
    }

    #[test]
    fn frontier_root_matches_the_recursive_definition_at_every_size() {
        let all = leaves(70);
        let mut f = Frontier::new();
        assert_eq!(f.root(), root(&[]));
        for (i, l) in all.iter().enumerate() {
            f.push(*l);
            assert_eq!(f.root(), root(&all[..=i]), "size {}", i + 1);
        }
    }

    #[test]
    fn every_generated_proof_verifies_and_stays_within_log2_bound() {
        let all = leaves(37);
        for n in 1..=all.len() {
            let d = &all[..n];
            let r = root(d);
            let bound = (n as f64).log2().ceil() as usize;
            for m in 0..n {
                let p = inclusion_proof(m, d).unwrap();
                assert!(p.len() <= bound, "inclusion {m}/{n}: {} hashes", p.len());
                verify_inclusion(m as u64, n as u64, &d[m], &p, &r).unwrap();
                assert!(verify_inclusion(m as u64, n as u64, &leaf_hash(b"x"), &p, &r).is_err());
            }
            for m in 1..=n {
                let p = consistency_proof(m, d).unwrap();
                assert!(p.len() <= bound + 1, "consistency {m}/{n}: {} hashes", p.len());
                verify_consistency(m as u64, n as u64, &p, &root(&d[..m]), &r).unwrap();
                if m < n {
                    assert!(verify_consistency(m as u64, n as u64, &p, &root(&d[..m]), &leaf_hash(b"x")).is_err());
                }
            }
        }
    }
}
