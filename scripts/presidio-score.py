#!/usr/bin/env python3
"""Scores Microsoft Presidio on Warden's labelled PII corpus, the same way
`warden dev pii-score` scores Warden, and measures its lines/s.

Presidio is configured with its predefined pattern recognisers only (every
one of them, for every language they ship for; no NLP model, so no PERSON
entities): an NLP engine that returns no entities and no tokens stands in for
spaCy, so context words do not change scores.

    python3 -m venv /tmp/presidio && /tmp/presidio/bin/pip install presidio-analyzer
    warden dev pii-corpus --seed 7 --lines 10000 --out /tmp/pii.jsonl
    /tmp/presidio/bin/python scripts/presidio-score.py /tmp/pii.jsonl [--json]
"""
import json
import sys
import time

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine

KIND = {
    "EMAIL_ADDRESS": "email",
    "IP_ADDRESS": "ip_public",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "payment_card",
    "IBAN_CODE": "iban",
    "URL": "hostname",
    "PERSON": "person_name",
    "MAC_ADDRESS": "mac",
}
NATIONAL = {"US_SSN", "US_ITIN", "UK_NINO", "ES_NIF", "ES_NIE", "IT_FISCAL_CODE", "IN_AADHAAR", "IN_PAN",
            "SG_NRIC_FIN", "AU_TFN", "PL_PESEL", "FI_PERSONAL_IDENTITY_CODE", "KR_RRN", "TH_TNIN", "IN_VOTER",
            "IN_PASSPORT", "US_PASSPORT", "UK_PASSPORT", "IT_IDENTITY_CARD"}
KINDS = ["email", "ip_public", "ip_private", "hostname", "username", "person_name", "phone", "payment_card",
         "national_id", "iban", "mac", "secret"]


class NoNlp(NlpEngine):
    def load(self): pass
    def is_loaded(self): return True
    def process_text(self, text, language):
        return NlpArtifacts(entities=[], tokens=[], tokens_indices=[], lemmas=[], nlp_engine=self, language=language)
    def process_batch(self, texts, language, **kw):
        for t in texts:
            yield t, self.process_text(t, language)
    def is_stopword(self, word, language): return False
    def is_punct(self, word, language): return False
    def get_supported_entities(self): return []
    def get_supported_languages(self): return ["en"]


def engine():
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"])
    # Every pattern recogniser Presidio ships, whatever its country; none that needs a model.
    import presidio_analyzer.predefined_recognizers as pr
    have = {type(r).__name__ for r in registry.recognizers}
    for name in dir(pr):
        cls = getattr(pr, name)
        if isinstance(cls, type) and name.endswith("Recognizer") and name not in have:
            try:
                r = cls(supported_language="en")
            except Exception:
                continue
            if hasattr(r, "patterns") and r.patterns:
                registry.add_recognizer(r)
    registry.recognizers = [r for r in registry.recognizers if type(r).__name__ not in ("SpacyRecognizer", "StanzaRecognizer", "TransformersRecognizer", "GLiNERRecognizer")]
    return AnalyzerEngine(registry=registry, nlp_engine=NoNlp(), supported_languages=["en"])


def kind(entity):
    if entity in NATIONAL:
        return "national_id"
    return KIND.get(entity, "other:" + entity)


def overlap(a, b):
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def same(a, b):
    return a == b or (a.startswith("ip_") and b.startswith("ip_"))


def main():
    path = sys.argv[1]
    as_json = "--json" in sys.argv
    samples = [json.loads(l) for l in open(path)]
    an = engine()
    findings = []
    best = None
    for run in range(3):
        t = time.perf_counter()
        out = [[(r.start, r.end, kind(r.entity_type)) for r in an.analyze(text=s["text"], language="en")] for s in samples]
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
        findings = out
        if dt > 60:
            break
    kinds = {k: {"seeded": 0, "found": 0, "flagged": 0, "correct": 0} for k in KINDS}
    decoys = {}
    for s, found in zip(samples, findings):
        for sp in s["seeded"]:
            e = kinds.setdefault(sp["kind"], {"seeded": 0, "found": 0, "flagged": 0, "correct": 0})
            e["seeded"] += 1
            covered = sum(overlap((a, b), (sp["start"], sp["end"])) for a, b, k in found if same(k, sp["kind"]))
            if covered * 10 >= (sp["end"] - sp["start"]) * 8:
                e["found"] += 1
        for a, b, k in found:
            e = kinds.setdefault(k, {"seeded": 0, "found": 0, "flagged": 0, "correct": 0})
            e["flagged"] += 1
            if any(same(k, sp["kind"]) and overlap((a, b), (sp["start"], sp["end"])) > 0 for sp in s["seeded"]):
                e["correct"] += 1
        for d in s["decoys"]:
            e = decoys.setdefault(d["kind"], [0, 0])
            e[1] += 1
            if any(overlap((a, b), (d["start"], d["end"])) > 0 for a, b, _ in found):
                e[0] += 1
    rate = len(samples) / best
    if as_json:
        print(json.dumps({"lines": len(samples), "lines_per_second": rate, "kinds": kinds, "decoys": decoys,
                          "recognisers": sorted(type(r).__name__ for r in an.registry.recognizers)}))
        return
    print(f"Presidio {__import__('presidio_analyzer').__version__ if hasattr(__import__('presidio_analyzer'), '__version__') else ''}, pattern recognisers only ({len(an.registry.recognizers)}), {len(samples)} lines")
    print(f"{'kind':<14} {'seeded':>7} {'recall':>8} {'precision':>10}")
    for k in sorted(kinds):
        e = kinds[k]
        rec = e["found"] / e["seeded"] if e["seeded"] else 1.0
        prec = e["correct"] / e["flagged"] if e["flagged"] else 1.0
        print(f"{k:<14} {e['seeded']:>7} {rec:>8.3f} {prec:>10.3f}")
    print(f"{'decoy':<14} {'shown':>7} {'flagged':>8}")
    for k in sorted(decoys):
        print(f"{k:<14} {decoys[k][1]:>7} {decoys[k][0]:>8}")
    print(f"lines/s: {rate:.0f}")


if __name__ == "__main__":
    main()
