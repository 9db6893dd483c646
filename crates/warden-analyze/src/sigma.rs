//! Sigma rules: parsing, a report of what cannot be used and why, and
//! matching against an alert's fields.
//!
//! Supported: logsource, selections as maps or lists of maps, keyword lists,
//! nulls, wildcards with Sigma's escaping, the modifiers `contains`,
//! `startswith`, `endswith`, `all`, `re` (with `i`, `m`, `s`), `base64`,
//! `base64offset`, `utf16le`/`utf16be`/`utf16`/`wide`, `windash`, `cidr`,
//! `exists`, `fieldref`, `gt`/`gte`/`lt`/`lte`, `cased`; conditions with
//! `and`/`or`/`not`, parentheses, `1 of x*`, `all of x*`, `1 of them`,
//! `all of them`. Correlation rules and placeholders are reported as unusable.

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::rc::Rc;

use base64::Engine as _;
use regex::{Regex, RegexBuilder};
use serde_yaml_ng::Value as Y;
use warden_core::{Fields, Severity, TechniqueId, Value};

/// A rule that can be evaluated.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub level: Severity,
    pub techniques: Vec<TechniqueId>,
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
    selections: BTreeMap<String, Selection>,
    condition: Cond,
}

#[derive(Debug)]
enum Selection {
    /// OR over maps; each map is an AND of field matches.
    Maps(Vec<Vec<FieldMatch>>),
    /// Any keyword anywhere in the alert.
    Keywords(Vec<Pattern>),
}

#[derive(Debug)]
struct FieldMatch {
    field: String,
    patterns: Vec<Pattern>,
    /// `all`: every pattern must match (otherwise any).
    all: bool,
}

#[derive(Debug)]
enum Pattern {
    Null,
    Exists(bool),
    /// A regular expression, with literals one of which any match contains
    /// (lower-cased, for the prefilter) when they can be worked out.
    Regex(Regex, Option<Vec<String>>),
    /// A wildcard value that is one literal with `*` at either end: matched
    /// as text, which is much cheaper than a regular expression.
    Text(TextMatch),
    Cidr(IpAddr, u8),
    Cmp(&'static str, f64),
    FieldRef(String),
}

#[derive(Debug)]
struct TextMatch {
    how: How,
    /// Lowercased unless `cased`.
    needle: String,
    cased: bool,
}

#[derive(Debug, Clone, Copy)]
enum How {
    Equals,
    StartsWith,
    EndsWith,
    Contains,
}

impl TextMatch {
    /// `lower` is `text` lowercased.
    fn is_match(&self, text: &str, lower: &str) -> bool {
        let t = if self.cased { text } else { lower };
        match self.how {
            How::Equals => t == self.needle,
            How::StartsWith => t.starts_with(&self.needle),
            How::EndsWith => t.ends_with(&self.needle),
            How::Contains => t.contains(&self.needle),
        }
    }
}

#[derive(Debug)]
enum Cond {
    Sel(String),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    /// (all?, name prefix or "them")
    Of(bool, String),
}

fn s(v: &Y) -> Option<String> {
    match v {
        Y::String(x) => Some(x.clone()),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parses one rule file. The error says why a rule cannot be used.
pub fn parse(text: &str) -> Result<Rule, String> {
    let docs: Vec<Y> = serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).map_err(|e: serde_yaml_ng::Error| format!("YAML: {e}")))
        .collect::<Result<_, _>>()?;
    if docs.len() != 1 {
        return Err(format!("{} YAML documents in one file (rule collections are not supported)", docs.len()));
    }
    let doc = &docs[0];
    if doc.get("correlation").is_some() {
        return Err("correlation rule (not supported)".into());
    }
    let title = doc.get("title").and_then(s).ok_or("no title")?;
    let id = doc.get("id").and_then(s).unwrap_or_else(|| title.clone());
    let level = match doc.get("level").and_then(s).as_deref() {
        Some("informational") => Severity::Info,
        Some("low") => Severity::Low,
        Some("high") => Severity::High,
        Some("critical") => Severity::Critical,
        _ => Severity::Medium,
    };
    let mut techniques = Vec::new();
    if let Some(Y::Sequence(tags)) = doc.get("tags") {
        for t in tags.iter().filter_map(s) {
            if let Some(x) = t.strip_prefix("attack.t").or_else(|| t.strip_prefix("attack.T")) {
                let tagged = format!("T{}", x.to_uppercase());
                // A v19 id the v18.1 catalogue does not know is brought back onto it.
                let v18 = match crate::attack::technique(&tagged) {
                    None => crate::attack::from_v19(&tagged).map(str::to_owned),
                    Some(_) => None,
                };
                if let Ok(id) = TechniqueId::parse(v18.as_deref().unwrap_or(&tagged))
                    && !techniques.contains(&id)
                {
                    techniques.push(id);
                }
            }
        }
    }
    let ls = doc.get("logsource").ok_or("no logsource")?;
    let detection = doc.get("detection").ok_or("no detection")?;
    let Y::Mapping(det) = detection else { return Err("detection is not a map".into()) };
    let mut selections = BTreeMap::new();
    let mut condition = None;
    for (k, v) in det {
        let name = s(k).ok_or("a detection key is not text")?;
        if name == "condition" {
            condition = Some(match v {
                Y::String(c) => c.clone(),
                Y::Sequence(cs) if cs.len() == 1 => s(&cs[0]).ok_or("bad condition")?,
                Y::Sequence(_) => return Err("several conditions in one rule (not supported)".into()),
                _ => return Err("bad condition".into()),
            });
            continue;
        }
        if name == "timeframe" {
            return Err("timeframe (aggregation over time is not supported)".into());
        }
        selections.insert(name.clone(), selection(v).map_err(|e| format!("selection {name}: {e}"))?);
    }
    let text = condition.ok_or("no condition")?;
    if text.contains('|') {
        return Err("aggregation in the condition (not supported)".into());
    }
    let condition = Parser::new(&text).parse().map_err(|e| format!("condition {text:?}: {e}"))?;
    check_refs(&condition, &selections)?;
    Ok(Rule {
        id,
        title,
        level,
        techniques,
        product: ls.get("product").and_then(s),
        category: ls.get("category").and_then(s),
        service: ls.get("service").and_then(s),
        selections,
        condition,
    })
}

fn check_refs(c: &Cond, sels: &BTreeMap<String, Selection>) -> Result<(), String> {
    match c {
        Cond::Sel(n) if !sels.contains_key(n) => Err(format!("the condition names {n}, which is not defined")),
        Cond::Not(x) => check_refs(x, sels),
        Cond::And(xs) | Cond::Or(xs) => xs.iter().try_for_each(|x| check_refs(x, sels)),
        _ => Ok(()),
    }
}

fn selection(v: &Y) -> Result<Selection, String> {
    match v {
        Y::Mapping(_) => Ok(Selection::Maps(vec![field_map(v)?])),
        Y::Sequence(items) if items.iter().all(|i| matches!(i, Y::Mapping(_))) => {
            Ok(Selection::Maps(items.iter().map(field_map).collect::<Result<_, _>>()?))
        }
        Y::Sequence(items) => {
            let mut out = Vec::new();
            for i in items {
                let t = s(i).ok_or("a keyword is not text")?;
                out.push(glob(&format!("*{t}*"), false)?);
            }
            Ok(Selection::Keywords(out))
        }
        Y::String(t) => Ok(Selection::Keywords(vec![glob(&format!("*{t}*"), false)?])),
        _ => Err("unsupported selection shape".into()),
    }
}

fn field_map(v: &Y) -> Result<Vec<FieldMatch>, String> {
    let Y::Mapping(m) = v else { return Err("not a map".into()) };
    let mut out = Vec::new();
    for (k, val) in m {
        let key = s(k).ok_or("a field name is not text")?;
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default().to_owned();
        let mods: Vec<&str> = parts.collect();
        let values: Vec<Option<String>> = match val {
            Y::Sequence(xs) => xs.iter().map(|x| if x.is_null() { None } else { s(x) }).collect(),
            Y::Null => vec![None],
            x => vec![s(x)],
        };
        out.push(field_match(field, &mods, &values)?);
    }
    Ok(out)
}

const KNOWN: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "all",
    "re",
    "i",
    "m",
    "s",
    "base64",
    "base64offset",
    "utf16le",
    "utf16be",
    "utf16",
    "wide",
    "windash",
    "cidr",
    "exists",
    "fieldref",
    "gt",
    "gte",
    "lt",
    "lte",
    "cased",
];

fn field_match(field: String, mods: &[&str], values: &[Option<String>]) -> Result<FieldMatch, String> {
    if let Some(m) = mods.iter().find(|m| !KNOWN.contains(m)) {
        return Err(format!("unsupported modifier {m}"));
    }
    let has = |m: &str| mods.contains(&m);
    let all = has("all");
    let cased = has("cased");
    let mut patterns = Vec::new();
    for v in values {
        let Some(v) = v else {
            patterns.push(Pattern::Null);
            continue;
        };
        if has("exists") {
            patterns.push(Pattern::Exists(v == "true"));
            continue;
        }
        if has("fieldref") {
            patterns.push(Pattern::FieldRef(v.clone()));
            continue;
        }
        if let Some(op) = ["gt", "gte", "lt", "lte"].into_iter().find(|o| has(o)) {
            patterns.push(Pattern::Cmp(op, v.parse().map_err(|_| format!("{op} needs a number, got {v:?}"))?));
            continue;
        }
        if has("cidr") {
            let (ip, len) = v.split_once('/').ok_or_else(|| format!("bad CIDR {v:?}"))?;
            patterns.push(Pattern::Cidr(
                ip.parse().map_err(|_| format!("bad CIDR {v:?}"))?,
                len.parse().map_err(|_| format!("bad CIDR {v:?}"))?,
            ));
            continue;
        }
        if has("re") {
            let re = RegexBuilder::new(v)
                .case_insensitive(has("i"))
                .multi_line(has("m"))
                .dot_matches_new_line(has("s"))
                .build()
                .map_err(|e| format!("regular expression: {e}"))?;
            let lits = regex_literals(v, has("i"), has("m"), has("s"));
            patterns.push(Pattern::Regex(re, lits));
            continue;
        }
        // Value transformations, each giving one or more literal variants.
        let mut variants: Vec<Vec<u8>> = vec![v.clone().into_bytes()];
        if has("windash") {
            let mut out = Vec::new();
            for var in &variants {
                let t = String::from_utf8_lossy(var).into_owned();
                for d in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
                    out.push(t.replacen(" -", &format!(" {d}"), usize::MAX).into_bytes());
                    if let Some(rest) = t.strip_prefix('-') {
                        out.push(format!("{d}{rest}").into_bytes());
                    }
                }
            }
            variants = out;
        }
        if has("wide") || has("utf16le") || has("utf16") {
            variants = variants
                .iter()
                .map(|v| String::from_utf8_lossy(v).encode_utf16().flat_map(|u| u.to_le_bytes()).collect())
                .collect();
        } else if has("utf16be") {
            variants = variants
                .iter()
                .map(|v| String::from_utf8_lossy(v).encode_utf16().flat_map(|u| u.to_be_bytes()).collect())
                .collect();
        }
        let b64 = &base64::engine::general_purpose::STANDARD;
        let mut texts: Vec<String> = if has("base64offset") {
            variants
                .iter()
                .flat_map(|v| {
                    (0..3).map(move |i| {
                        let mut padded = vec![0u8; i];
                        padded.extend_from_slice(v);
                        let enc = b64.encode(&padded);
                        let start = [0, 2, 3][i];
                        let end_trim = [0, 3, 2][(v.len() + i) % 3];
                        enc[start..enc.len() - end_trim].to_owned()
                    })
                })
                .collect()
        } else if has("base64") {
            variants.iter().map(|v| b64.encode(v)).collect()
        } else {
            variants.iter().map(|v| String::from_utf8_lossy(v).into_owned()).collect()
        };
        texts.dedup();
        // Encoded variants are literal text; plain values keep Sigma's wildcards.
        // The wildcards a modifier adds are added after the value's own escapes are read,
        // so a value ending in `\` (a path) stays a literal backslash.
        let literal = has("base64") || has("base64offset");
        for t in texts {
            let mut parts = if literal { vec![Part::Lit(t)] } else { glob_parts(&t) };
            if has("contains") || has("endswith") {
                parts.insert(0, Part::Any);
            }
            if has("contains") || has("startswith") {
                parts.push(Part::Any);
            }
            patterns.push(compile(&parts, cased)?);
        }
    }
    Ok(FieldMatch { field, patterns, all })
}

enum Part {
    Lit(String),
    Any,
    One,
}

/// Sigma wildcards: `*` any run, `?` one character; `\*`, `\?` and `\\`
/// escape them; any other backslash is itself.
fn glob_parts(p: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some('*') | Some('?') | Some('\\') => lit.push(chars.next().unwrap()),
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    out.push(Part::Lit(std::mem::take(&mut lit)));
                }
                out.push(if c == '*' { Part::Any } else { Part::One });
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        out.push(Part::Lit(lit));
    }
    out
}

fn compile(parts: &[Part], cased: bool) -> Result<Pattern, String> {
    let text = |how, t: &str| {
        let needle = if cased { t.to_owned() } else { t.to_lowercase() };
        Ok(Pattern::Text(TextMatch { how, needle, cased }))
    };
    match parts {
        [Part::Lit(t)] => return text(How::Equals, t),
        [Part::Lit(t), Part::Any] => return text(How::StartsWith, t),
        [Part::Any, Part::Lit(t)] => return text(How::EndsWith, t),
        [Part::Any, Part::Lit(t), Part::Any] => return text(How::Contains, t),
        _ => {}
    }
    let mut re = String::from("^");
    for p in parts {
        match p {
            Part::Lit(t) => re.push_str(&regex::escape(t)),
            Part::Any => re.push_str("(?s:.*)"),
            Part::One => re.push_str("(?s:.)"),
        }
    }
    re.push('$');
    let lits = regex_literals(&re, !cased, false, false);
    RegexBuilder::new(&re).case_insensitive(!cased).build().map(|r| Pattern::Regex(r, lits)).map_err(|e| e.to_string())
}

/// Literals one of which every match of a regular expression contains: its
/// possible prefixes, else its possible suffixes, when there are finitely
/// many of at least [`MIN_NEEDLE`] bytes; lower-cased as the event's text is.
/// Literals with a Greek sigma are refused (lower-casing it depends on the
/// letters around it, so the substring could be lost). None otherwise.
fn regex_literals(pattern: &str, case_insensitive: bool, multi_line: bool, dot_nl: bool) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .multi_line(multi_line)
        .dot_matches_new_line(dot_nl)
        .build()
        .parse(pattern)
        .ok()?;
    [ExtractKind::Prefix, ExtractKind::Suffix].into_iter().find_map(|kind| {
        let seq = Extractor::new().kind(kind).extract(&hir);
        let mut out: Vec<String> = seq
            .literals()?
            .iter()
            .map(|l| {
                std::str::from_utf8(l.as_bytes()).ok().filter(|s| !s.contains(['Σ', 'σ', 'ς'])).map(str::to_lowercase)
            })
            .collect::<Option<_>>()?;
        out.sort();
        out.dedup();
        (!out.is_empty() && out.iter().all(|s| s.len() >= MIN_NEEDLE)).then_some(out)
    })
}

fn glob(p: &str, cased: bool) -> Result<Pattern, String> {
    compile(&glob_parts(p), cased)
}

struct Parser<'a> {
    toks: Vec<&'a str>,
    at: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let mut toks = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            if c == '(' || c == ')' || c.is_whitespace() {
                if let Some(s) = start.take() {
                    toks.push(&text[s..i]);
                }
                if c != ' ' && !c.is_whitespace() {
                    toks.push(&text[i..i + 1]);
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            toks.push(&text[s..]);
        }
        Parser { toks, at: 0 }
    }

    fn parse(mut self) -> Result<Cond, String> {
        let c = self.or()?;
        if self.at != self.toks.len() {
            return Err(format!("unexpected {:?}", self.toks[self.at]));
        }
        Ok(c)
    }

    fn peek(&self) -> Option<&'a str> {
        self.toks.get(self.at).copied()
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut xs = vec![self.and()?];
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("or")) {
            self.at += 1;
            xs.push(self.and()?);
        }
        Ok(if xs.len() == 1 { xs.pop().unwrap() } else { Cond::Or(xs) })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut xs = vec![self.not()?];
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("and")) {
            self.at += 1;
            xs.push(self.not()?);
        }
        Ok(if xs.len() == 1 { xs.pop().unwrap() } else { Cond::And(xs) })
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.peek().is_some_and(|t| t.eq_ignore_ascii_case("not")) {
            self.at += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Cond, String> {
        let t = self.peek().ok_or("the condition ends too early")?;
        self.at += 1;
        if t == "(" {
            let c = self.or()?;
            if self.peek() != Some(")") {
                return Err("a parenthesis is not closed".into());
            }
            self.at += 1;
            return Ok(c);
        }
        if (t == "1" || t.eq_ignore_ascii_case("all") || t == "any")
            && self.peek().is_some_and(|x| x.eq_ignore_ascii_case("of"))
        {
            self.at += 1;
            let target = self.peek().ok_or("`of` needs a target")?;
            self.at += 1;
            return Ok(Cond::Of(t.eq_ignore_ascii_case("all"), target.to_owned()));
        }
        if t.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.') {
            return Ok(Cond::Sel(t.to_owned()));
        }
        Err(format!("unexpected {t:?}"))
    }
}

/// Where Sigma's field names live in Warden's alerts: the name itself, then
/// what each format's mapping file (owned by ingest) says.
fn candidates(field: &str) -> Vec<String> {
    warden_ingest::mapping::sigma_candidates(field)
}

/// One event as every rule sees it: its Windows event id and channel, and
/// the values (and their text) of each Sigma field a rule asked for, looked
/// up once and shared by all the rules evaluated against the event.
pub struct Event<'a> {
    fields: &'a dyn Fields,
    id: Option<i64>,
    channel: String,
    /// The Sigma products the event is known to come from (`windows` for a
    /// Windows event or ECS / OCSF saying the host runs Windows; others from
    /// the source's own fields). A rule for a product applies only to events
    /// known to come from it.
    products: Vec<String>,
    /// The Sigma logsource categories the event is known to belong to (from
    /// ECS `event.category`, the OCSF class or the Suricata event type);
    /// None when its source does not say.
    kinds: Option<Vec<&'static str>>,
    looked: RefCell<HashMap<String, Rc<Looked>>>,
    all_text: OnceCell<(Vec<String>, Vec<String>)>,
    /// `Event.UserData.<Element>.` when the record keeps its data there
    /// (log clears and other Eventlog events) rather than in EventData.
    user_data: Option<String>,
    /// Classic PowerShell events (400, 600, 800 in "Windows PowerShell")
    /// keep their fields as `Name=value` lines inside one data string; they
    /// are read out once, on first use.
    classic: OnceCell<Vec<(String, Value)>>,
    /// EventData names written with spaces (`New Value`, as Defender writes
    /// them), by the name without spaces that Sigma rules use (`NewValue`).
    spaced: Vec<(String, String)>,
}

/// A field's values and their text.
struct Looked {
    values: Vec<Value>,
    texts: Vec<String>,
    lower: Vec<String>,
}

impl<'a> Event<'a> {
    pub fn new(fields: &'a dyn Fields) -> Self {
        let id = ["Event.System.EventID", "Event.System.EventID.#text", "EventID", "winlog.event_id", "event.code"]
            .iter()
            .find_map(|p| fields.get(p).and_then(Value::as_i64));
        let channel = ["Event.System.Channel", "Channel", "winlog.channel"]
            .iter()
            .find_map(|p| fields.get(p).map(|v| v.to_string().to_lowercase()))
            .unwrap_or_default();
        let products = products_of(fields, id.is_some() && !channel.is_empty());
        let kinds = kinds_of(fields);
        let user_data = fields.iter().find_map(|(p, _)| {
            let rest = p.strip_prefix("Event.UserData.")?;
            let element = rest.split('.').next()?;
            (!element.is_empty() && rest.len() > element.len()).then(|| format!("Event.UserData.{element}."))
        });
        let spaced = fields
            .iter()
            .filter_map(|(p, _)| {
                let name = p.strip_prefix("Event.EventData.")?;
                name.contains(' ').then(|| (name.replace(' ', ""), p.to_owned()))
            })
            .collect();
        Event {
            spaced,
            fields,
            id,
            channel,
            products,
            kinds,
            looked: RefCell::new(HashMap::new()),
            all_text: OnceCell::new(),
            user_data,
            classic: OnceCell::new(),
        }
    }

    /// The event's values for a Sigma field (the first candidate path that has any).
    fn lookup(&self, field: &str) -> Rc<Looked> {
        if let Some(l) = self.looked.borrow().get(field) {
            return l.clone();
        }
        let mut values: Vec<Value> = candidates(field)
            .into_iter()
            .chain(self.user_data.iter().map(|prefix| format!("{prefix}{field}")))
            .map(|c| self.fields.values(&c).into_iter().cloned().collect::<Vec<_>>())
            .find(|vs| !vs.is_empty())
            .unwrap_or_default();
        if values.is_empty()
            && let Some((_, path)) = self.spaced.iter().find(|(name, _)| name == field)
        {
            values = self.fields.values(path).into_iter().cloned().collect();
        }
        if values.is_empty() && self.channel == PS_CLASSIC {
            values = self.classic().iter().filter(|(k, _)| k == field).map(|(_, v)| v.clone()).collect();
        }
        let texts: Vec<String> = values.iter().map(Value::to_string).collect();
        let lower = texts.iter().map(|t| t.to_lowercase()).collect();
        let l = Rc::new(Looked { values, texts, lower });
        self.looked.borrow_mut().insert(field.to_owned(), l.clone());
        l
    }

    /// The `Name=value` lines of a classic PowerShell event's data.
    fn classic(&self) -> &[(String, Value)] {
        self.classic.get_or_init(|| {
            let mut out = Vec::new();
            for (_, v) in self.fields.iter() {
                let Value::Str(text) = v else { continue };
                for line in text.lines() {
                    if let Some((k, val)) = line.trim().split_once('=')
                        && !k.is_empty()
                        && k.chars().all(|c| c.is_ascii_alphanumeric())
                    {
                        out.push((k.to_owned(), Value::from(val.trim())));
                    }
                }
            }
            out
        })
    }

    /// The text of every field and its lowercase, for keyword selections.
    fn all_text(&self) -> &(Vec<String>, Vec<String>) {
        self.all_text.get_or_init(|| {
            let texts: Vec<String> = self.fields.iter().map(|(_, v)| v.to_string()).collect();
            let lower = texts.iter().map(|t| t.to_lowercase()).collect();
            (texts, lower)
        })
    }
}

/// The rules of a set that match an event, in the set's order. The event's
/// fields are looked up once for all the rules rather than once per rule.
pub fn matching<'r>(rules: &'r [Rule], a: &dyn Fields) -> Vec<&'r Rule> {
    let e = Event::new(a);
    rules.iter().filter(|r| r.matches_event(&e)).collect()
}

/// Needles shorter than this are not worth a prefilter entry: they occur
/// almost everywhere, so a rule that needs one is simply evaluated.
const MIN_NEEDLE: usize = 3;

/// A rule set ready for many events: besides the rules, one Aho-Corasick
/// automaton over the literals the rules need. For each rule the set knows
/// a list of literals at least one of which must occur (case-folded)
/// somewhere in an event for the rule to be able to match; one pass of the
/// automaton over the event's text tells which rules can be skipped without
/// evaluating them. Rules with no such list (a negation at the top, a
/// regular expression, a number comparison, …) are always evaluated.
pub struct RuleSet {
    rules: std::sync::Arc<Vec<Rule>>,
    automaton: Option<aho_corasick::AhoCorasick>,
    /// Per rule: the needle ids one of which must be present, or None.
    needs: Vec<Option<Vec<u32>>>,
    /// Per needle: the rules (indices) that need it.
    by_needle: Vec<Vec<u32>>,
    /// Rules with no needles: evaluated for every event.
    always: Vec<u32>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet").field("rules", &self.rules.len()).field("prefiltered", &self.prefiltered()).finish()
    }
}

impl RuleSet {
    pub fn new(rules: std::sync::Arc<Vec<Rule>>) -> Self {
        let mut needles: Vec<String> = Vec::new();
        let mut ids: HashMap<String, u32> = HashMap::new();
        let needs = rules
            .iter()
            .map(|r| {
                r.required_literals().map(|lits| {
                    let mut v: Vec<u32> = lits
                        .into_iter()
                        .map(|l| {
                            *ids.entry(l.clone()).or_insert_with(|| {
                                needles.push(l);
                                (needles.len() - 1) as u32
                            })
                        })
                        .collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                })
            })
            .collect();
        let automaton = (!needles.is_empty()).then(|| aho_corasick::AhoCorasick::new(&needles).ok()).flatten();
        // Without an automaton nothing can be skipped.
        let needs: Vec<Option<Vec<u32>>> = if automaton.is_some() { needs } else { vec![None; rules.len()] };
        // The same knowledge the other way round, so an event costs the rules its
        // needles point at, not a pass over every rule.
        let mut by_needle: Vec<Vec<u32>> = vec![Vec::new(); needles.len()];
        let mut always = Vec::new();
        for (i, need) in needs.iter().enumerate() {
            match need {
                Some(ids) => ids.iter().for_each(|n| by_needle[*n as usize].push(i as u32)),
                None => always.push(i as u32),
            }
        }
        RuleSet { rules, automaton, needs, by_needle, always }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How many rules the prefilter can skip when their literals are absent.
    pub fn prefiltered(&self) -> usize {
        self.needs.iter().filter(|n| n.is_some()).count()
    }

    /// The rules that match an event, in the set's order; the same answer as
    /// [`matching`], found faster.
    pub fn matching(&self, a: &dyn Fields) -> Vec<&Rule> {
        let e = Event::new(a);
        let Some(ac) = self.automaton.as_ref() else {
            return self.rules.iter().filter(|r| r.matches_event(&e)).collect();
        };
        let mut seen = vec![false; ac.patterns_len()];
        let (_, lower) = e.all_text();
        for text in lower {
            for m in ac.find_overlapping_iter(text.as_str()) {
                seen[m.pattern().as_usize()] = true;
            }
        }
        let mut candidates: Vec<u32> = self.always.clone();
        for (needle, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
            candidates.extend_from_slice(&self.by_needle[needle]);
        }
        // In the set's order, each rule once.
        candidates.sort_unstable();
        candidates.dedup();
        candidates.into_iter().map(|i| &self.rules[i as usize]).filter(|r| r.matches_event(&e)).collect()
    }
}

impl Rule {
    fn field_ok(&self, e: &Event, m: &FieldMatch) -> bool {
        let l = e.lookup(&m.field);
        let one = |p: &Pattern| match p {
            Pattern::Null => {
                l.values.is_empty()
                    || l.values.iter().zip(&l.texts).all(|(v, t)| matches!(v, Value::Null) || t.is_empty())
            }
            Pattern::Exists(want) => l.values.is_empty() != *want,
            Pattern::Regex(re, _) => l.texts.iter().any(|t| re.is_match(t)),
            Pattern::Text(m) => l.texts.iter().zip(&l.lower).any(|(t, lo)| m.is_match(t, lo)),
            Pattern::Cidr(net, len) => {
                l.texts.iter().any(|t| t.parse::<IpAddr>().is_ok_and(|ip| in_cidr(ip, *net, *len)))
            }
            Pattern::Cmp(op, n) => l.values.iter().filter_map(|v| v.as_f64()).any(|x| match *op {
                "gt" => x > *n,
                "gte" => x >= *n,
                "lt" => x < *n,
                _ => x <= *n,
            }),
            Pattern::FieldRef(other) => {
                let o = e.lookup(other);
                l.texts.iter().any(|t| o.texts.contains(t))
            }
        };
        if m.all { m.patterns.iter().all(one) } else { m.patterns.iter().any(one) }
    }

    fn selection_ok(&self, e: &Event, sel: &Selection) -> bool {
        match sel {
            Selection::Maps(maps) => maps.iter().any(|m| m.iter().all(|f| self.field_ok(e, f))),
            Selection::Keywords(ps) => ps.iter().any(|p| match p {
                Pattern::Regex(re, _) => e.all_text().0.iter().any(|t| re.is_match(t)),
                Pattern::Text(m) => {
                    let (texts, lower) = e.all_text();
                    texts.iter().zip(lower).any(|(t, lo)| m.is_match(t, lo))
                }
                _ => false,
            }),
        }
    }

    fn eval(&self, e: &Event, c: &Cond) -> bool {
        match c {
            Cond::Sel(n) => self.selections.get(n).is_some_and(|s| self.selection_ok(e, s)),
            Cond::Not(x) => !self.eval(e, x),
            Cond::And(xs) => xs.iter().all(|x| self.eval(e, x)),
            Cond::Or(xs) => xs.iter().any(|x| self.eval(e, x)),
            Cond::Of(all, target) => {
                let mut names = self.selections.iter().filter(|(n, _)| {
                    if target == "them" {
                        !n.starts_with('_')
                    } else if let Some(p) = target.strip_suffix('*') {
                        n.starts_with(p)
                    } else {
                        *n == target
                    }
                });
                if *all {
                    names.all(|(_, s)| self.selection_ok(e, s))
                } else {
                    names.any(|(_, s)| self.selection_ok(e, s))
                }
            }
        }
    }

    /// Literals (case-folded) at least one of which any event this rule
    /// matches must contain somewhere; None when no such list can be given.
    fn required_literals(&self) -> Option<Vec<String>> {
        self.cond_literals(&self.condition)
    }

    fn cond_literals(&self, c: &Cond) -> Option<Vec<String>> {
        match c {
            Cond::Sel(n) => self.selections.get(n).and_then(selection_literals),
            Cond::Not(_) => None,
            Cond::And(xs) => best(xs.iter().map(|x| self.cond_literals(x))),
            Cond::Or(xs) => union(xs.iter().map(|x| self.cond_literals(x))),
            Cond::Of(all, target) => {
                let sels = self.selections.iter().filter(|(n, _)| {
                    if target == "them" {
                        !n.starts_with('_')
                    } else if let Some(p) = target.strip_suffix('*') {
                        n.starts_with(p)
                    } else {
                        *n == target
                    }
                });
                let each = sels.map(|(_, s)| selection_literals(s));
                if *all { best(each) } else { union(each) }
            }
        }
    }

    /// Whether the rule's logsource can describe this event: Windows
    /// categories by Sysmon / Security event id, services by channel. Rules
    /// for other products are left to their fields.
    pub fn applies(&self, a: &dyn Fields) -> bool {
        self.applies_to(&Event::new(a))
    }

    fn applies_to(&self, e: &Event) -> bool {
        let (id, channel) = (e.id, e.channel.as_str());
        let windows_event = id.is_some() && !channel.is_empty();
        if let Some(product) = &self.product
            && !e.products.iter().any(|p| p == product)
        {
            return false;
        }
        if let Some(service) = &self.service
            && windows_event
            && !service_channels(service).matches(channel)
        {
            return false;
        }
        if let (Some(cat), Some(id)) = (&self.category, id)
            && windows_event
        {
            // A Windows category is its channels and event ids together: Sysmon's
            // event 20 is a WMI consumer, the System log's event 20 is not.
            return windows_category_sources(cat)
                .is_some_and(|sources| sources.iter().any(|(ch, ids)| *ch == channel && ids.contains(&id)));
        }
        if let Some(cat) = &self.category
            && !windows_event
        {
            return match &e.kinds {
                // The source says what kind of event it is.
                Some(kinds) => kinds.contains(&cat.as_str()),
                // It does not: a rule that matches keywords anywhere in the
                // event would fire on any text that happens to contain them
                // (a "dump" in a command line is not an SQL query), so only
                // rules that name their fields apply.
                None => !self.selections.values().any(|s| matches!(s, Selection::Keywords(_))),
            };
        }
        true
    }

    /// Whether the rule matches the alert: its logsource applies and its condition holds.
    pub fn matches(&self, a: &dyn Fields) -> bool {
        self.matches_event(&Event::new(a))
    }

    /// [`Rule::matches`] for an event prepared once for many rules.
    pub fn matches_event(&self, e: &Event) -> bool {
        self.applies_to(e) && self.eval(e, &self.condition)
    }

    /// The alert's fields this rule looks at, as (path, value): what a
    /// match can cite as evidence.
    pub fn cited_fields(&self, a: &dyn Fields) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = Vec::new();
        for sel in self.selections.values() {
            let Selection::Maps(maps) = sel else { continue };
            for m in maps.iter().flatten() {
                for c in candidates(&m.field) {
                    if let Some(v) = a.get(&c) {
                        if !out.iter().any(|(p, _)| *p == c) {
                            out.push((c, v.clone()));
                        }
                        break;
                    }
                }
            }
        }
        out
    }
}

/// Literals one of which a selection needs, or None.
fn selection_literals(sel: &Selection) -> Option<Vec<String>> {
    match sel {
        Selection::Maps(maps) => union(maps.iter().map(|m| best(m.iter().map(field_literals)))),
        Selection::Keywords(ps) => union(ps.iter().map(pattern_literal)),
    }
}

/// A field match's literals: with `all`, any one pattern's (each is needed);
/// otherwise every pattern's (one of them is).
fn field_literals(m: &FieldMatch) -> Option<Vec<String>> {
    let each = m.patterns.iter().map(pattern_literal);
    if m.all { best(each) } else { union(each) }
}

fn pattern_literal(p: &Pattern) -> Option<Vec<String>> {
    match p {
        // A cased needle is in the text only if its lower case is in the lower-cased text.
        Pattern::Text(t) if t.needle.chars().count() >= MIN_NEEDLE => Some(vec![t.needle.to_lowercase()]),
        Pattern::Regex(_, lits) => lits.clone(),
        _ => None,
    }
}

/// All alternatives are possible: their literals together, or None if any has none.
fn union(xs: impl Iterator<Item = Option<Vec<String>>>) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for x in xs {
        out.extend(x?);
    }
    (!out.is_empty()).then_some(out)
}

/// All parts are needed: the most selective part's literals, or None when
/// no part has any. Short needles (such as event ids) occur in many events,
/// so a part whose needles are all five bytes or longer is preferred, then
/// the part with fewest needles, then the longer shortest needle.
fn best(xs: impl Iterator<Item = Option<Vec<String>>>) -> Option<Vec<String>> {
    xs.flatten().filter(|v| !v.is_empty()).min_by_key(|v| {
        let shortest = v.iter().map(|s| s.len()).min().unwrap_or(0);
        (shortest < 5, v.len(), std::cmp::Reverse(shortest))
    })
}

/// Which Sigma products an event comes from, judged from its own fields:
/// the operating system ECS or OCSF name, a Windows event, the ECS module,
/// and the field shapes of Zeek, CloudTrail, Azure, GCP, Okta and M365 logs.
fn products_of(f: &dyn Fields, windows_event: bool) -> Vec<String> {
    let text = |p: &str| f.get(p).map(|v| v.to_string().to_lowercase());
    let has = |p: &str| f.get(p).is_some();
    let mut out: Vec<String> = Vec::new();
    let mut add = |p: &str| {
        if !out.iter().any(|x| x == p) {
            out.push(p.to_owned());
        }
    };
    for p in ["host.os.type", "host.os.family", "host.os.platform", "device.os.name", "os.name", "os.type"] {
        match text(p).as_deref() {
            Some(o) if o.contains("windows") => add("windows"),
            Some(o) if o.contains("linux") || o == "ubuntu" || o == "debian" || o == "rhel" => add("linux"),
            Some(o) if o.contains("mac") || o == "darwin" => add("macos"),
            _ => {}
        }
    }
    match f.get("device.os.type_id").and_then(Value::as_i64) {
        Some(100) => add("windows"),
        Some(200) => add("linux"),
        Some(300) => add("macos"),
        _ => {}
    }
    if windows_event || has("winlog.channel") {
        add("windows");
    }
    for p in ["event.module", "observer.product", "event.provider"] {
        if let Some(m) = text(p) {
            match m.as_str() {
                "o365" | "m365" | "microsoft365" => add("m365"),
                "auditd" => add("linux"),
                other => add(other),
            }
        }
    }
    if has("id.orig_h") || has("_path") {
        add("zeek");
    }
    if text("eventSource").is_some_and(|s| s.ends_with("amazonaws.com")) {
        add("aws");
    }
    if has("resourceId") && has("operationName") {
        add("azure");
    }
    if has("protoPayload.serviceName") {
        add("gcp");
    }
    if has("eventType") && has("actor.alternateId") {
        add("okta");
    }
    if has("Workload") && has("Operation") {
        add("m365");
    }
    out
}

const PROCESS: &[&str] = &["process_creation", "process_termination", "process_access", "create_remote_thread"];
const FILE: &[&str] =
    &["file_event", "file_change", "file_delete", "file_rename", "file_access", "file_executable_detected"];
const REGISTRY: &[&str] = &["registry_add", "registry_delete", "registry_set", "registry_event", "registry_rename"];
const NETWORK: &[&str] = &["network_connection", "firewall"];
const DNS: &[&str] = &["dns", "dns_query"];
const WEB: &[&str] = &["proxy", "webserver"];

/// The Sigma logsource categories an event belongs to, when its source says
/// what kind of event it is: ECS `event.category`, the OCSF `class_uid`, or
/// the Suricata `event_type`.
fn kinds_of(f: &dyn Fields) -> Option<Vec<&'static str>> {
    let ecs: Vec<String> = f.values("event.category").into_iter().map(|v| v.to_string().to_lowercase()).collect();
    if !ecs.is_empty() {
        let mut out = Vec::new();
        for c in &ecs {
            out.extend_from_slice(match c.as_str() {
                "process" => PROCESS,
                "file" => FILE,
                "registry" => REGISTRY,
                "network" if f.get("dns.question.name").is_some() => DNS,
                "network" => NETWORK,
                "library" => &["image_load"],
                "driver" => &["driver_load"],
                "web" => WEB,
                "database" => &["database"],
                "malware" | "intrusion_detection" => &["antivirus"],
                _ => &[],
            });
        }
        return Some(out);
    }
    if let Some(class) = f.get("class_uid").and_then(Value::as_i64) {
        let process_evidence = f.get("evidences[0].process.cmd_line").is_some();
        return Some(match class {
            1001 => FILE.to_vec(),
            1005 => vec!["image_load"],
            1007 => PROCESS.to_vec(),
            201001 | 201002 => REGISTRY.to_vec(),
            4001 => NETWORK.to_vec(),
            4002 => WEB.to_vec(),
            4003 => DNS.to_vec(),
            // A finding whose evidence is a process is judged as that process's creation.
            2001 | 2004 if process_evidence => PROCESS.to_vec(),
            _ => Vec::new(),
        });
    }
    let eve = f.get("event_type").map(|v| v.to_string().to_lowercase());
    if let Some(t) = eve.filter(|_| f.get("src_ip").is_some() || f.get("flow_id").is_some()) {
        return Some(match t.as_str() {
            "dns" => DNS.to_vec(),
            "http" => WEB.to_vec(),
            "flow" | "netflow" => NETWORK.to_vec(),
            _ => Vec::new(),
        });
    }
    None
}

const SYSMON: &str = "microsoft-windows-sysmon/operational";
const PS: &str = "microsoft-windows-powershell/operational";
const PS_CORE: &str = "powershellcore/operational";
const PS_CLASSIC: &str = "windows powershell";

/// The channels (lower case) and event ids a Windows logsource category
/// stands for, as Sigma's Windows pipelines define them; `None` for a
/// category no Windows event log records (its rules do not apply to
/// Windows events at all).
fn windows_category_sources(category: &str) -> Option<&'static [(&'static str, &'static [i64])]> {
    Some(match category {
        "process_creation" => &[(SYSMON, &[1]), ("security", &[4688])],
        "network_connection" => &[(SYSMON, &[3])],
        "sysmon_status" => &[(SYSMON, &[4, 16])],
        "process_termination" => &[(SYSMON, &[5])],
        "driver_load" => &[(SYSMON, &[6])],
        "image_load" => &[(SYSMON, &[7])],
        "create_remote_thread" => &[(SYSMON, &[8])],
        "raw_access_thread" => &[(SYSMON, &[9])],
        "process_access" => &[(SYSMON, &[10])],
        "file_event" => &[(SYSMON, &[11])],
        "registry_add" | "registry_delete" => &[(SYSMON, &[12])],
        "registry_set" => &[(SYSMON, &[13])],
        "registry_rename" => &[(SYSMON, &[14])],
        "registry_event" => &[(SYSMON, &[12, 13, 14])],
        "create_stream_hash" => &[(SYSMON, &[15])],
        "pipe_created" => &[(SYSMON, &[17, 18])],
        "wmi_event" => &[(SYSMON, &[19, 20, 21])],
        "dns_query" => &[(SYSMON, &[22])],
        "file_delete" => &[(SYSMON, &[23, 26])],
        "clipboard_capture" => &[(SYSMON, &[24])],
        "process_tampering" => &[(SYSMON, &[25])],
        "file_block_executable" => &[(SYSMON, &[27])],
        "file_block_shredding" => &[(SYSMON, &[28])],
        "file_executable_detected" => &[(SYSMON, &[29])],
        "sysmon_error" => &[(SYSMON, &[255])],
        "ps_script" => &[(PS, &[4104]), (PS_CORE, &[4104])],
        "ps_module" => &[(PS, &[4103]), (PS_CORE, &[4103])],
        "ps_classic_start" => &[(PS_CLASSIC, &[400])],
        "ps_classic_provider_start" => &[(PS_CLASSIC, &[600])],
        "ps_classic_script" => &[(PS_CLASSIC, &[800])],
        _ => return None,
    })
}

/// The channels a Windows logsource service names.
enum Channels {
    /// Exactly these (lower case).
    Exact(&'static [&'static str]),
    /// A service Warden has no table entry for: channels whose name, with
    /// punctuation removed, contains the service's.
    Like(String),
}

impl Channels {
    fn matches(&self, channel: &str) -> bool {
        match self {
            Channels::Exact(list) => list.contains(&channel),
            Channels::Like(service) => {
                let squash = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>();
                squash(channel).contains(&squash(service))
            }
        }
    }
}

/// The Windows event log channels of a Sigma logsource service, as Sigma's
/// Windows pipeline maps them.
fn service_channels(service: &str) -> Channels {
    Channels::Exact(match service {
        "security" => &["security"],
        "system" => &["system"],
        "application" => &["application"],
        "sysmon" => &[SYSMON],
        "powershell" => &[PS, PS_CORE],
        "powershell-classic" => &[PS_CLASSIC],
        "taskscheduler" => &["microsoft-windows-taskscheduler/operational"],
        "wmi" => &["microsoft-windows-wmi-activity/operational"],
        "windefend" => &["microsoft-windows-windows defender/operational"],
        "dns-server" => &["dns server"],
        "dns-server-audit" => &["microsoft-windows-dns-server/audit"],
        "dns-client" => &["microsoft-windows-dns-client/operational"],
        "driver-framework" => &["microsoft-windows-driverframeworks-usermode/operational"],
        "dhcp" => &["microsoft-windows-dhcp-server/operational"],
        "ntlm" => &["microsoft-windows-ntlm/operational"],
        "printservice-admin" => &["microsoft-windows-printservice/admin"],
        "printservice-operational" => &["microsoft-windows-printservice/operational"],
        "smbclient-security" => &["microsoft-windows-smbclient/security"],
        "smbclient-connectivity" => &["microsoft-windows-smbclient/connectivity"],
        "smbserver-connectivity" => &["microsoft-windows-smbserver/connectivity"],
        "applocker" => &[
            "microsoft-windows-applocker/msi and script",
            "microsoft-windows-applocker/exe and dll",
            "microsoft-windows-applocker/packaged app-deployment",
            "microsoft-windows-applocker/packaged app-execution",
        ],
        "msexchange-management" => &["msexchange management"],
        "microsoft-servicebus-client" => &["microsoft-servicebus-client"],
        "ldap" | "ldap_debug" => &["microsoft-windows-ldap-client/debug"],
        "codeintegrity-operational" => &["microsoft-windows-codeintegrity/operational"],
        "firewall-as" => &["microsoft-windows-windows firewall with advanced security/firewall"],
        "bits-client" => &["microsoft-windows-bits-client/operational"],
        "security-mitigations" => {
            &["microsoft-windows-security-mitigations/kernel mode", "microsoft-windows-security-mitigations/user mode"]
        }
        "terminalservices-localsessionmanager" => {
            &["microsoft-windows-terminalservices-localsessionmanager/operational"]
        }
        "openssh" => &["openssh/operational"],
        "shell-core" => &["microsoft-windows-shell-core/operational"],
        "lsa-server" => &["microsoft-windows-lsa/operational"],
        "diagnosis-scripted" => &["microsoft-windows-diagnosis-scripted/operational"],
        "certificateservicesclient-lifecycle-system" => {
            &["microsoft-windows-certificateservicesclient-lifecycle-system/operational"]
        }
        "capi2" => &["microsoft-windows-capi2/operational"],
        "appxdeployment-server" => &["microsoft-windows-appxdeploymentserver/operational"],
        "appxpackaging-om" => &["microsoft-windows-appxpackaging/operational"],
        "appmodel-runtime" => &["microsoft-windows-appmodel-runtime/admin"],
        "iis-configuration" => &["microsoft-iis-configuration/operational"],
        other => return Channels::Like(other.to_owned()),
    })
}

fn in_cidr(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len.min(32)) };
            (u32::from(a) & mask) == (u32::from(b) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - len.min(128)) };
            (u128::from(a) & mask) == (u128::from(b) & mask)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::FieldMap;

    fn fields(pairs: &[(&str, &str)]) -> FieldMap {
        let mut f = FieldMap::new();
        for (k, v) in pairs {
            f.insert(*k, Value::from(*v));
        }
        f
    }

    #[test]
    fn a_typical_process_creation_rule_matches_and_not_its_negation() {
        let r = parse(
            r#"
title: Certutil download
logsource: {product: windows, category: process_creation}
detection:
  selection_img:
    - Image|endswith: '\certutil.exe'
    - OriginalFileName: 'CertUtil.exe'
  selection_cli:
    CommandLine|contains|all: ['urlcache', 'http']
  filter:
    CommandLine|contains: 'trusted.example'
  condition: all of selection_* and not filter
level: high
tags: [attack.t1105, attack.command-and-control]
"#,
        )
        .unwrap();
        assert_eq!(r.techniques[0].as_str(), "T1105");
        let hit = fields(&[
            ("Event.System.EventID", "1"),
            ("Event.System.Channel", "Microsoft-Windows-Sysmon/Operational"),
            ("Event.EventData.Image", "C:\\Windows\\System32\\CERTUTIL.EXE"),
            ("Event.EventData.CommandLine", "certutil -urlcache -f http://x/a"),
        ]);
        let mut wrong_kind = hit.clone();
        wrong_kind.insert("Event.System.EventID", Value::from("3"));
        assert!(!r.matches(&wrong_kind), "a network connection is not a process creation");
        assert!(r.matches(&hit));
        let filtered =
            fields(&[("Image", "C:\\x\\certutil.exe"), ("CommandLine", "certutil -urlcache http://trusted.example/a")]);
        assert!(!r.matches(&filtered));
    }

    #[test]
    fn modifiers_and_escapes() {
        let r = parse("title: t\nlogsource: {service: test}\ndetection:\n  s:\n    CommandLine|base64offset|contains: 'IEX'\n  k:\n    - 'mimi\\*katz'\n  condition: s or k\n").unwrap();
        let enc = base64::engine::general_purpose::STANDARD.encode(b"xx IEX (New-Object)");
        assert!(r.matches(&fields(&[("CommandLine", &format!("powershell -e {enc}"))])));
        assert!(r.matches(&fields(&[("Message", "ran mimi*katz")])));
        assert!(!r.matches(&fields(&[("Message", "ran mimikatz")])), "an escaped * is literal");
        let c = parse("title: t\nlogsource: {category: test}\ndetection:\n  s:\n    DestinationIp|cidr: 10.0.0.0/8\n  condition: s\n").unwrap();
        let p = parse("title: t\nlogsource: {category: test}\ndetection:\n  s:\n    Image|startswith: 'C:\\Windows\\'\n  condition: s\n").unwrap();
        assert!(p.matches(&fields(&[("Image", "C:\\Windows\\x.exe")])), "a trailing backslash is literal");
        assert!(c.matches(&fields(&[("DestinationIp", "10.2.3.4")])));
        assert!(!c.matches(&fields(&[("DestinationIp", "11.2.3.4")])));
    }

    #[test]
    fn literal_values_match_as_text_with_sigma_case_rules() {
        let rule = |m: &str, v: &str| {
            parse(&format!(
                "title: t\nlogsource: {{category: test}}\ndetection:\n  s:\n    Image{m}: '{v}'\n  condition: s\n"
            ))
            .unwrap()
        };
        let img = |v: &str| fields(&[("Image", v)]);
        assert!(rule("", "C:\\Tools\\Psexec.exe").matches(&img("c:\\tools\\PSEXEC.EXE")));
        assert!(!rule("", "psexec.exe").matches(&img("x\\psexec.exe")), "a plain value is the whole value");
        assert!(rule("|contains", "EXEC").matches(&img("x\\psexec.exe")));
        assert!(!rule("|contains|cased", "EXEC").matches(&img("x\\psexec.exe")), "cased keeps case");
        assert!(rule("|contains|cased", "exec").matches(&img("x\\psexec.exe")));
        assert!(rule("|startswith", "x\\").matches(&img("X\\psexec.exe")));
        assert!(rule("", "*\\ps?xec.exe").matches(&img("X\\PSEXEC.exe")), "a ? keeps the regular expression");
        assert!(!rule("|endswith", "psexec").matches(&img("x\\psexec.exe")));
    }

    #[test]
    fn v19_technique_tags_are_brought_back_onto_the_catalogue() {
        let r = parse("title: t\nlogsource: {category: test}\ndetection:\n  s: {a: b}\n  condition: s\ntags: [attack.t1685, attack.t1686.003, attack.t1059.001, attack.t1685, attack.t1686.002]\n").unwrap();
        let ids: Vec<&str> = r.techniques.iter().map(|t| t.as_str()).collect();
        // T1685 came mostly from T1562.001 (125 rules) rather than T1562 (24);
        // T1686.002 is not in the crosswalk, but every T1686 id came from T1562.*.
        assert_eq!(ids, ["T1562.001", "T1562.004", "T1059.001", "T1562"]);
        // A family with mixed origins gives no answer rather than a guess.
        assert_eq!(crate::attack::from_v19("T1685.099"), None);
        assert!(ids.iter().all(|id| crate::attack::technique(id).is_some()));
    }

    #[test]
    fn regex_literals_are_needed_by_every_match() {
        let cases: &[(&str, bool, &[&str])] = &[
            (r"mimi[k]atz", false, &["mimikatz", "run mimikatz now"]),
            (r"(?:procdump|dumpert)\.exe", true, &["C:\\T\\ProcDump.EXE", "dumpert.exe -x", "pro\u{17F}dump.exe"]),
            (r"\\temp\\[a-z]+\.ps1$", true, &["C:\\Windows\\TEMP\\x.PS1"]),
            (r"sekurlsa::\w+", true, &["SEKURLSA::logonpasswords", "ſekurlsa::x"]),
        ];
        for (re, ci, texts) in cases {
            let lits = regex_literals(re, *ci, false, false).unwrap_or_else(|| panic!("{re}: no literals"));
            let compiled = RegexBuilder::new(re).case_insensitive(*ci).build().unwrap();
            for t in *texts {
                if compiled.is_match(t) {
                    let lower = t.to_lowercase();
                    assert!(
                        lits.iter().any(|l| lower.contains(l.as_str())),
                        "{re} matches {t:?} but none of {lits:?} is in it"
                    );
                }
            }
        }
        assert!(regex_literals(r".*", false, false, false).is_none());
        assert!(regex_literals(r"a|bc", false, false, false).is_none(), "too short to be worth it");
    }

    #[test]
    fn rules_for_a_product_apply_only_to_its_events() {
        let zeek = parse("title: t\nlogsource: {product: zeek, service: rdp}\ndetection:\n  s:\n    id.orig_h|cidr: 10.0.0.0/8\n  condition: not s\n").unwrap();
        assert!(zeek.matches(&fields(&[("id.orig_h", "203.0.113.9"), ("_path", "rdp")])), "a Zeek RDP log");
        assert!(!zeek.matches(&fields(&[("host.name", "ws-1"), ("host.os.type", "windows")])), "not a Zeek log");
        assert!(!zeek.matches(&fields(&[("message", "anything")])), "a log of unknown origin");
        let aws = parse("title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s: {eventName: DeleteTrail}\n  condition: s\n").unwrap();
        assert!(aws.matches(&fields(&[("eventSource", "cloudtrail.amazonaws.com"), ("eventName", "DeleteTrail")])));
        assert!(!aws.matches(&fields(&[("eventName", "DeleteTrail")])), "no sign it came from AWS");
        let mut ecs_aws = fields(&[("eventName", "DeleteTrail")]);
        ecs_aws.insert("event.module", Value::from("aws"));
        assert!(aws.matches(&ecs_aws), "ECS names the module");
    }

    #[test]
    fn keyword_rules_need_an_event_of_their_category() {
        let r = parse("title: t\nlogsource: {category: database}\ndetection:\n  k: [dump]\n  condition: k\n").unwrap();
        let cmd = fields(&[("process.command_line", "rundll32 comsvcs.dll MiniDump 1 x.dmp")]);
        assert!(!r.matches(&cmd), "a command line is not a database log");
        let mut ecs_db = fields(&[("db.statement", "mysqldump --all-databases")]);
        ecs_db.insert("event.category[0]", Value::from("database"));
        assert!(r.matches(&ecs_db));
        let mut ecs_proc = cmd.clone();
        ecs_proc.insert("event.category[0]", Value::from("process"));
        assert!(!r.matches(&ecs_proc));
    }

    #[test]
    fn windows_rules_read_ecs_and_ocsf_events_too() {
        let r = parse(
            "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s:\n    CommandLine|contains|all: [comsvcs, minidump]\n    ParentImage|endswith: '\\cmd.exe'\n  condition: s\n",
        )
        .unwrap();
        let cmd = "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 712 C:\\ls.dmp full";
        let mut ocsf = fields(&[
            ("evidences[0].process.cmd_line", cmd),
            ("evidences[0].process.parent_process.file.path", "C:\\Windows\\System32\\cmd.exe"),
        ]);
        ocsf.insert("device.os.type_id", Value::Int(100));
        assert!(r.matches(&ocsf), "OCSF detection finding on a Windows device");
        let ecs = |os: &str, category: &str| {
            fields(&[
                ("process.command_line", cmd),
                ("process.parent.executable", "C:\\Windows\\System32\\cmd.exe"),
                ("host.os.type", os),
                ("event.category[0]", category),
            ])
        };
        assert!(r.matches(&ecs("windows", "process")), "ECS process event on Windows");
        assert!(!r.matches(&ecs("windows", "network")), "ECS says it is not a process event");
        assert!(!r.matches(&ecs("linux", "process")), "not a Windows host");
        let set = RuleSet::new(std::sync::Arc::new(vec![r]));
        assert_eq!(set.prefiltered(), 1);
        assert_eq!(set.matching(&ecs("windows", "process")).len(), 1);
        assert!(
            set.matching(&fields(&[("process.command_line", "notepad.exe"), ("host.os.type", "windows")])).is_empty()
        );
    }

    #[test]
    fn unusable_rules_say_why() {
        assert!(parse("title: t\ncorrelation: {type: event_count}\n").unwrap_err().contains("correlation"));
        assert!(
            parse("title: t\nlogsource: {}\ndetection:\n  s:\n    a|expand: x\n  condition: s\n")
                .unwrap_err()
                .contains("expand")
        );
        assert!(
            parse("title: t\nlogsource: {}\ndetection:\n  s: {a: b}\n  condition: s | count() > 5\n")
                .unwrap_err()
                .contains("aggregation")
        );
    }

    #[test]
    fn data_names_with_spaces_and_classic_powershell_lines_are_where_rules_look() {
        let defender = parse(
            "title: t\nlogsource: {product: windows, service: windefend}\ndetection:\n  s:\n    EventID: 5007\n    NewValue|contains: '\\Exclusions\\Paths\\'\n  condition: s\n",
        )
        .unwrap();
        let mut f = FieldMap::new();
        f.insert("Event.System.EventID", Value::Int(5007));
        f.insert("Event.System.Channel", Value::from("Microsoft-Windows-Windows Defender/Operational"));
        f.insert(
            "Event.EventData.New Value",
            Value::from("HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths\\C:\\t = 0x0"),
        );
        assert!(defender.matches(&f));

        let classic = parse(
            "title: t\nlogsource: {product: windows, category: ps_classic_start}\ndetection:\n  s:\n    HostApplication|contains: ' -enc '\n  condition: s\n",
        )
        .unwrap();
        let mut g = FieldMap::new();
        g.insert("Event.System.EventID", Value::Int(400));
        g.insert("Event.System.Channel", Value::from("Windows PowerShell"));
        g.insert("Event.EventData.Data.#text[0]", Value::from("Available"));
        g.insert(
            "Event.EventData.Data.#text[2]",
            Value::from("\tNewEngineState=Available\r\n\tHostApplication=powershell.exe -nop -enc SQBFAFgA\r\n"),
        );
        assert!(classic.matches(&g));
        g.insert("Event.EventData.Data.#text[2]", Value::from("\tHostApplication=powershell.exe -File report.ps1\r\n"));
        assert!(!classic.matches(&g));
    }

    fn windows_event(channel: &str, id: i64, data: &[(&str, &str)]) -> FieldMap {
        let mut f = FieldMap::new();
        f.insert("Event.System.EventID", Value::Int(id));
        f.insert("Event.System.Channel", Value::from(channel));
        for (k, v) in data {
            f.insert(*k, Value::from(*v));
        }
        f
    }

    #[test]
    fn a_windows_logsource_is_its_channel_and_event_ids_together() {
        let wmi = parse("title: t\nlogsource: {product: windows, category: wmi_event}\ndetection:\n  s:\n    EventID: 20\n  condition: s\n").unwrap();
        assert!(wmi.matches(&windows_event("Microsoft-Windows-Sysmon/Operational", 20, &[])));
        assert!(!wmi.matches(&windows_event("System", 20, &[])), "the System log's event 20 is a boot event");
        let proc = parse("title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s:\n    Image|endswith: '\\diskshadow.exe'\n  condition: s\n").unwrap();
        assert!(
            proc.matches(&windows_event(
                "Security",
                4688,
                &[("Event.EventData.NewProcessName", "C:\\Windows\\System32\\diskshadow.exe")]
            )),
            "4688 names the image NewProcessName"
        );
        assert!(!proc.matches(&windows_event(
            "Security",
            4689,
            &[("Event.EventData.NewProcessName", "C:\\Windows\\System32\\diskshadow.exe")]
        )));
        let sec = parse("title: t\nlogsource: {product: windows, service: security}\ndetection:\n  s:\n    EventID: 1102\n    Provider_Name: Microsoft-Windows-Eventlog\n  condition: s\n").unwrap();
        let mut clear = windows_event("Security", 1102, &[("Event.UserData.LogFileCleared.SubjectUserName", "eve")]);
        clear.insert("Event.System.Provider.#attributes.Name", Value::from("Microsoft-Windows-Eventlog"));
        assert!(sec.matches(&clear));
        let mut elsewhere = windows_event("Microsoft-Windows-SmbClient/Security", 1102, &[]);
        elsewhere.insert("Event.System.Provider.#attributes.Name", Value::from("Microsoft-Windows-Eventlog"));
        assert!(
            !sec.matches(&elsewhere),
            "service security is the Security channel, not any channel ending in Security"
        );
        let user_data = parse("title: t\nlogsource: {product: windows, service: security}\ndetection:\n  s:\n    SubjectUserName: eve\n  condition: s\n").unwrap();
        assert!(user_data.matches(&clear), "UserData fields are where EventData ones would be");
        let unknown = parse("title: t\nlogsource: {product: windows, category: file_access}\ndetection:\n  s:\n    EventID: 11\n  condition: s\n").unwrap();
        assert!(
            !unknown.matches(&windows_event("Microsoft-Windows-Sysmon/Operational", 11, &[])),
            "no Windows log records file_access"
        );
    }
}
