"""Transcript coaching by transparent heuristics: parse a transcript, detect talk moves, score, suggest.

Pure (no Django), so every rule is tested on labelled lines without a database.

THESE ARE HEURISTICS, NOT A TRAINED MODEL. The dimensions are those Wang &
Demszky (2023, "Is ChatGPT a Good Teacher Coach?") asked a model to rate:
CLASS Positive Climate, Behavior Management, Instructional Dialogue (1-7) and
MQI Explanations, Remediation of Student Errors, Imprecision in Language,
Student Questioning and Reasoning (1-3). Here each is computed from the
lexicons and features below, and every score lists the lines it counted, so a
teacher can check (and disagree with) each one. ``docs/coaching.md`` gives
each rule and its source.

The talk moves (Michaels & O'Connor's Accountable Talk; uptake after Demszky
et al. 2021) are detected per teacher line:

- ``open_question``: a question with an open stem (why, how, what do you think/notice, explain, ...);
- ``press``: pressing for reasoning (why, how do you know, explain, convince, say more, ...);
- ``revoicing``: restating the student's idea ("so you're saying ...", or most of the
  student's content words said back);
- ``uptake``: building on the previous student line (a content word of it taken up in a
  question or follow-up, not merely a verdict such as "right").

The paper found that 82% of the model's suggestions asked teachers for a move
they had already made. Here a suggestion is only ever attached to a line where
``moves_of`` finds *no* dialogic move (``suggestions`` asserts it), which the
tests check on every line of every fixture.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

MAX_BYTES = 1_000_000
MAX_LINES = 10_000
MAX_TEXT_CHARS = 2_000
MAX_ITEMS = 5

TEACHER_SPEAKERS = re.compile(r"^(t|teacher|tutor|instructor|mr\.?|ms\.?|mrs\.?|dr\.?)(\b|$)", re.IGNORECASE)

STOPWORDS = frozenset(
    """a an the and or but so if then that this these those it its is are was were be been am i you he she we they
    me my your our their his her them us to of in on at for with by from as do does did not no yes ok okay um uh
    what why how who when where which can could would should will just like there here have has had get got
    right good yeah well oh all one some any more very too really think know say said""".split()
)

OPEN_STEMS = (
    "why",
    "how do you know",
    "how did you",
    "how would you",
    "how could",
    "how can we",
    "how is",
    "how are",
    "what do you think",
    "what do you notice",
    "what do you wonder",
    "what did you notice",
    "what would happen",
    "what happens if",
    "what if",
    "what makes",
    "what does that mean",
    "what else",
    "what strategy",
    "what pattern",
    "what's the same",
    "what is the same",
    "what's different",
    "what is different",
    "explain",
    "describe",
    "tell me about",
    "tell me more",
    "talk about",
    "how did you get",
    "in your own words",
    "what's your reasoning",
    "what is your reasoning",
    "what would change",
    "tell us",
    "walk me through",
    "walk us through",
    "show me how",
    "show us how",
)

PRESS_STEMS = (
    "why",
    "how do you know",
    "how did you get",
    "how did you figure",
    "how did you decide",
    "explain",
    "what makes you",
    "convince",
    "prove",
    "justify",
    "say more",
    "tell me more",
    "your reasoning",
    "show me how",
    "show us how",
    "walk me through",
    "walk us through",
    "do you agree",
    "agree or disagree",
    "how can you be sure",
    "what's your evidence",
    "what is your evidence",
    "can you give an example",
)

REVOICE_STEMS = (
    "so you're saying",
    "so you are saying",
    "you're saying",
    "are you saying",
    "so you said",
    "you said",
    "if i understand",
    "if i heard you",
    "i hear you saying",
    "so you think",
    "so your idea is",
    "so what you mean",
    "you mean that",
    "let me make sure i understand",
    "in other words",
)

VERDICT_ONLY = re.compile(
    r"^(ok(ay)?|good( job)?|great|right|correct|yes|no|nope|nice|excellent|perfect|wrong|not quite|incorrect|"
    r"exactly|that's right|that is right|good work|well done|thank you|thanks)[.!]*$",
    re.IGNORECASE,
)

PRAISE = re.compile(
    r"\b(good (job|work|thinking|idea|question)|great|nice|well done|excellent|thank you|thanks|i like (how|the way)|"
    r"love (that|how)|awesome|wonderful|brilliant|good point)\b",
    re.IGNORECASE,
)
NEGATIVE = re.compile(
    r"\b(shut up|be quiet|stupid|lazy|careless|how many times|not again|i already told you|you never|"
    r"that's silly|what is wrong with you)\b",
    re.IGNORECASE,
)
REDIRECT = re.compile(
    r"\b(sit down|stop talking|quiet|eyes (up|on me|on the board)|pay attention|hands down|settle down|"
    r"listen up|stop that|phones away|put (it|that) away|back to your seat|focus)\b",
    re.IGNORECASE,
)
EXPLAIN = re.compile(
    r"\b(because|that's why|that is why|the reason|this means|which means|that means|so that|since|"
    r"remember that|notice that|in other words)\b",
    re.IGNORECASE,
)
ERROR_RESPONSE = re.compile(
    r"^(no\b|nope|not quite|not exactly|incorrect|that's not|that is not|close\b|almost|careful|hmm|try again|"
    r"are you sure|check (that|again|your))",
    re.IGNORECASE,
)
IMPRECISE = re.compile(
    r"\b(thingy|thing|stuff|the top number|the bottom number|cross[- ]multiply|flip it|just flip|move it over|"
    r"cancel out|borrow|plug (it )?in|the little number|the big number|carry the|bring down|do the same thing)\b",
    re.IGNORECASE,
)
STUDENT_REASONING = re.compile(
    r"\b(because|so|since|i think|i noticed|i notice|that means|if .+ then|the reason|i figured|i wonder|"
    r"it's like|is it because|why)\b",
    re.IGNORECASE,
)

QUESTION_START = re.compile(
    r"^(what|why|how|where|when|which|who|is|are|does|do|did|can|could|would|will|should)\b", re.IGNORECASE
)

MOVES = ("open_question", "press", "revoicing", "uptake")


class TranscriptError(ValueError):
    """The transcript cannot be read; the message names the line."""


@dataclass(frozen=True)
class Utterance:
    line: int
    speaker: str
    text: str

    @property
    def is_teacher(self) -> bool:
        return bool(TEACHER_SPEAKERS.match(self.speaker.strip()))


# --- Parsing -------------------------------------------------------------------------------------------


def parse_transcript(data: bytes, filename: str = "") -> list[Utterance]:
    """CSV with a header ``line,speaker,text`` (``line`` optional) or text lines ``Speaker: text``.

    Refuses, with a message that says why and where: an empty file, one over
    ``MAX_BYTES`` or ``MAX_LINES``, binary content, a CSV without a speaker
    column, a text line without ``Speaker:``.
    """
    if not data or not data.strip():
        raise TranscriptError("the file is empty: upload one utterance per line with a speaker")
    if len(data) > MAX_BYTES:
        raise TranscriptError(f"the file is over the {MAX_BYTES:,} byte limit")
    if b"\x00" in data:
        raise TranscriptError("the file is binary, not text: upload a CSV or a plain-text transcript")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TranscriptError(f"line {line}: not UTF-8 text (is this a binary file?)") from None
    lines = text.splitlines()
    if len(lines) > MAX_LINES + 1:
        raise TranscriptError(f"the transcript has {len(lines):,} lines; the limit is {MAX_LINES:,}")
    first = lines[0].lower() if lines else ""
    is_csv = filename.lower().endswith(".csv") or ("," in first and "text" in first and ":" not in first)
    out = _parse_csv(text) if is_csv else _parse_text(lines)
    if not out:
        raise TranscriptError("the file has no utterances: upload one utterance per line with a speaker")
    if len(out) > MAX_LINES:
        raise TranscriptError(f"the transcript has {len(out):,} utterances; the limit is {MAX_LINES:,}")
    return out


def _parse_csv(text: str) -> list[Utterance]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise TranscriptError("line 1: the CSV has no header row (expected line,speaker,text)") from None
    if "speaker" not in header:
        raise TranscriptError(f"line 1: the CSV has no speaker column (found {', '.join(header) or 'nothing'})")
    if "text" not in header:
        raise TranscriptError(f"line 1: the CSV has no text column (found {', '.join(header)})")
    si, ti = header.index("speaker"), header.index("text")
    li = header.index("line") if "line" in header else None
    out: list[Utterance] = []
    try:
        for row in reader:
            row_no = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(si, ti):
                raise TranscriptError(f"line {row_no}: expected {len(header)} columns, found {len(row)}")
            speaker, utterance = row[si].strip(), row[ti].strip()
            if not speaker:
                raise TranscriptError(f"line {row_no}: the speaker is empty")
            if len(utterance) > MAX_TEXT_CHARS:
                raise TranscriptError(f"line {row_no}: {len(utterance)} characters; the limit is {MAX_TEXT_CHARS}")
            number = row_no
            if li is not None and row[li].strip():
                try:
                    number = int(row[li])
                except ValueError:
                    raise TranscriptError(f"line {row_no}: line number {row[li]!r} is not a number") from None
            out.append(Utterance(number, speaker, utterance))
    except csv.Error as exc:
        raise TranscriptError(f"line {reader.line_num}: {exc}") from None
    return out


SPEAKER_LINE = re.compile(r"^\s*([^:]{1,40}):\s*(.*)$")


def _parse_text(lines: list[str]) -> list[Utterance]:
    out = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        match = SPEAKER_LINE.match(raw)
        if match is None:
            raise TranscriptError(f"line {number}: no speaker; write it as 'Speaker: what they said'")
        if len(match.group(2)) > MAX_TEXT_CHARS:
            raise TranscriptError(f"line {number}: {len(match.group(2))} characters; the limit is {MAX_TEXT_CHARS}")
        out.append(Utterance(number, match.group(1).strip(), match.group(2).strip()))
    return out


# --- Talk moves ----------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def content_words(text: str) -> set[str]:
    """Lower-case words of 2+ letters or numbers that are not stopwords: what uptake and revoicing compare."""
    words = re.findall(r"[a-z]+|\d+(?:[./]\d+)?", text.lower().replace("’", "'"))
    return {w for w in words if w not in STOPWORDS and (len(w) > 2 or w[0].isdigit())}


def _has_stem(text: str, stems: tuple[str, ...]) -> bool:
    t = _norm(text)
    return any(re.search(rf"(^|\W){re.escape(stem)}(\W|$)", t) for stem in stems)


def is_question(text: str) -> bool:
    return "?" in text


def open_question(text: str) -> bool:
    """A question (or an imperative like "explain ...") with an open stem; "what is 3 + 4?" is closed."""
    t = _norm(text)
    imperative = re.match(
        r"^(please )?(explain|describe|tell (me|us)|talk about|show (me|us) how|walk (me|us) through)\b", t
    )
    return bool((is_question(text) or imperative) and _has_stem(text, OPEN_STEMS))


def press(text: str) -> bool:
    """Pressing for the student's reasoning: asks why or how they know, or to explain, justify, say more."""
    return _has_stem(text, PRESS_STEMS) and (
        is_question(text)
        or bool(re.search(r"\b(explain|convince|prove|justify|walk|show|say more|tell me more)\b", _norm(text)))
    )


def revoicing(text: str, previous_student: str = "") -> bool:
    """Restating the student's idea: a revoicing stem, or 60%+ of their content words (2+ words) said back.

    Said back as a statement or an echo ("Three quarters is bigger?"), not inside a
    new wh- or yes/no question, which asks something else about their words (uptake).
    """
    if _has_stem(text, REVOICE_STEMS):
        return True
    theirs = content_words(previous_student)
    if len(theirs) < 2 or QUESTION_START.match(_norm(text)):
        return False  # a new question about their words is uptake, not a restatement
    return len(theirs & content_words(text)) / len(theirs) >= 0.6


def uptake(text: str, previous_student: str = "") -> bool:
    """Building on the previous student line: takes up one of its content words in a question or follow-up.

    A bare verdict ("Right.", "Good job!") is not uptake even if it follows a
    student's answer: nothing of the student's contribution is used.
    """
    if not previous_student.strip() or VERDICT_ONLY.match(_norm(text)):
        return False
    shared = content_words(previous_student) & content_words(text)
    return bool(shared) and (is_question(text) or len(content_words(text)) >= 3)


def moves_of(text: str, previous_student: str = "") -> set[str]:
    """Every dialogic move present in a teacher line."""
    found = set()
    if open_question(text):
        found.add("open_question")
    if press(text):
        found.add("press")
    if revoicing(text, previous_student):
        found.add("revoicing")
    if uptake(text, previous_student):
        found.add("uptake")
    return found


# --- The report ----------------------------------------------------------------------------------------


@dataclass
class LineFeatures:
    utterance: Utterance
    previous_student: str
    moves: set[str] = field(default_factory=set)
    praise: bool = False
    negative: bool = False
    redirect: bool = False
    explains: bool = False
    error_response: bool = False
    imprecise: bool = False
    student_reasoning: bool = False


def features(utterances: list[Utterance]) -> list[LineFeatures]:
    out, previous_student = [], ""
    for u in utterances:
        f = LineFeatures(u, previous_student)
        if u.is_teacher:
            f.moves = moves_of(u.text, previous_student)
            f.praise = bool(PRAISE.search(u.text))
            f.negative = bool(NEGATIVE.search(u.text))
            f.redirect = bool(REDIRECT.search(u.text))
            f.explains = bool(EXPLAIN.search(u.text))
            f.error_response = bool(previous_student) and bool(ERROR_RESPONSE.match(_norm(u.text)))
            f.imprecise = bool(IMPRECISE.search(u.text))
            previous_student = ""
        else:
            f.student_reasoning = bool(STUDENT_REASONING.search(u.text)) or is_question(u.text)
            previous_student = u.text
        out.append(f)
    return out


def _clamp(x: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(x)))


def scores(feats: list[LineFeatures]) -> dict[str, dict]:
    """The seven dimension scores with the lines each counted. The formulas are in docs/coaching.md."""
    teacher = [f for f in feats if f.utterance.is_teacher]
    student = [f for f in feats if not f.utterance.is_teacher]
    nt = max(1, len(teacher))

    def lines(fs: list[LineFeatures]) -> list[int]:
        return [f.utterance.line for f in fs]

    pos = [f for f in teacher if f.praise]
    neg = [f for f in teacher if f.negative]
    climate = _clamp(4 + 10 * (len(pos) - 2 * len(neg)) / nt, 1, 7)
    redirects = [f for f in teacher if f.redirect]
    behavior = _clamp(7 - 20 * len(redirects) / nt, 1, 7)
    dialogic = [f for f in teacher if f.moves]
    share_d = len(dialogic) / nt
    share_s = len(student) / max(1, len(feats))
    dialogue = _clamp(1 + 6 * (0.7 * min(1.0, 2 * share_d) + 0.3 * min(1.0, 2 * share_s)), 1, 7)
    explains = [f for f in teacher if f.explains]
    explanations = 1 if not explains else 2 if len(explains) / nt < 0.1 else 3
    errors = [f for f in teacher if f.error_response]
    remediated = [f for f in errors if f.moves or f.explains]
    remediation = 1 if not remediated else 2 if len(remediated) < len(errors) else 3
    imprecise = [f for f in teacher if f.imprecise]
    imprecision = 1 if not imprecise else 2 if len(imprecise) <= 2 else 3
    reasoning = [f for f in student if f.student_reasoning]
    share_r = len(reasoning) / max(1, len(student))
    sqr = 1 if not reasoning else 2 if share_r < 0.2 else 3
    return {
        "CLASS Positive Climate": {"score": climate, "evidence_lines": lines(pos + neg)},
        "CLASS Behavior Management": {"score": behavior, "evidence_lines": lines(redirects)},
        "CLASS Instructional Dialogue": {"score": dialogue, "evidence_lines": lines(dialogic)},
        "MQI Explanations": {"score": explanations, "evidence_lines": lines(explains)},
        "MQI Remediation of Student Errors": {"score": remediation, "evidence_lines": lines(remediated or errors)},
        "MQI Imprecision in Language": {"score": imprecision, "evidence_lines": lines(imprecise)},
        "MQI Student Questioning and Reasoning": {"score": sqr, "evidence_lines": lines(reasoning)},
    }


MOVE_REASONS = {
    "press": "pressed for the student's reasoning",
    "revoicing": "revoiced the student's idea so the class could build on it",
    "uptake": "took up the student's contribution and built on it",
    "open_question": "asked an open question that invites more than one answer",
}


def highlights(feats: list[LineFeatures]) -> list[dict]:
    """Up to five teacher lines with dialogic moves, the strongest moves (press, revoicing) first."""
    order = {m: i for i, m in enumerate(MOVE_REASONS)}
    ranked = sorted((f for f in feats if f.moves), key=lambda f: (min(order[m] for m in f.moves), f.utterance.line))
    out = []
    for f in ranked[:MAX_ITEMS]:
        reasons = [MOVE_REASONS[m] for m in sorted(f.moves, key=order.get)]
        out.append({"line": f.utterance.line, "quote": f.utterance.text, "reason": "; ".join(reasons)})
    return sorted(out, key=lambda h: h["line"])


def _missed(feats: list[LineFeatures]) -> list[LineFeatures]:
    """Teacher lines that answer a substantive student line (3+ words or an error) with no dialogic move."""
    out = []
    for f in feats:
        if not f.utterance.is_teacher or f.moves or not f.previous_student:
            continue
        if len(f.previous_student.split()) >= 3 or f.error_response:
            out.append(f)
    return out


def missed_opportunities(feats: list[LineFeatures]) -> list[dict]:
    out = []
    for f in _missed(feats)[:MAX_ITEMS]:
        if f.error_response:
            reason = "responded to a student error without asking how the student got there"
        elif VERDICT_ONLY.match(_norm(f.utterance.text)):
            reason = "evaluated the student's idea and moved on instead of asking for their reasoning"
        else:
            reason = "did not take up what the student had just said"
        out.append({"line": f.utterance.line, "quote": f.utterance.text, "reason": reason})
    return out


def suggestions(feats: list[LineFeatures]) -> list[dict]:
    """Up to five ways to elicit more reasoning, each tied to a line with NO dialogic move already in it."""
    out = []
    for f in _missed(feats)[:MAX_ITEMS]:
        assert not moves_of(f.utterance.text, f.previous_student), "a suggestion must not repeat a present move"
        words = sorted(content_words(f.previous_student), key=len, reverse=True)
        idea = f"“{words[0]}”" if words else "that"
        if f.error_response:
            text = f"Before correcting, ask: “How did you get {idea}? Walk me through your steps.”"
        elif VERDICT_ONLY.match(_norm(f.utterance.text)):
            text = f"Instead of only confirming, press: “Why does {idea} work? How do you know?”"
        else:
            text = f"Revoice and open it up: “So you're saying {idea}... who can add to that or disagree, and why?”"
        out.append({"line": f.utterance.line, "quote": f.utterance.text, "suggestion": text})
    return out


def coach(utterances: list[Utterance]) -> dict:
    """The full report, in the CLI's JSON shape (``manage.py coach_transcript FILE --json``)."""
    feats = features(utterances)
    return {
        "scores": scores(feats),
        "highlights": highlights(feats),
        "missed_opportunities": missed_opportunities(feats),
        "suggestions": suggestions(feats),
        "method": "heuristics: lexicons and features in tutor/coaching/talkmoves.py (docs/coaching.md); no model",
    }
