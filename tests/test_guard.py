"""The leak guard: a reply must not state an answer the policy has not released (pure, no database)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutor.agents.guard import SAFE_TEXT, GuardResult, Leak, Secret, StreamGuard, find_leaks, guard
from tutor.dialogue.answers import number_mentions


def number(value, label="subproblem 1", **extra):
    return Secret(label, {"kind": "number", "value": value, **extra})


SEVEN_EIGHTHS = [number("7/8")]
TWO_X_OVER_3 = [Secret("subproblem 2", {"kind": "expression", "value": "2*x/3", "variables": ["x"]})]
OSMOSIS = [
    Secret(
        "subproblem 3", {"kind": "choice", "value": "osmosis", "choices": ["diffusion", "osmosis", "active transport"]}
    )
]
CELL_WALL = [Secret("subproblem 4", {"kind": "text", "references": ["the cell wall"], "keywords": ["wall"]})]


def leaked_forms(text, secrets, visible=""):
    return [text[leak.start : leak.end] for leak in find_leaks(text, secrets, visible)]


# ---- numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        "7/8",
        "14/16",
        "0.875",
        ".875",
        "87.5%",
        "87.5 percent",
        "seven eighths",
        "Seven-eighths",
        "seven over eight",
        "7 eighths",
        "\\frac{7}{8}",
        "\\dfrac{14}{16}",
        "⅞",
        "7 out of 8",
    ],
)
def test_every_form_of_seven_eighths_is_a_leak(form):
    text = f"Great, so the answer is {form} of the pizza."
    assert leaked_forms(text, SEVEN_EIGHTHS) == [form]


def test_seven_eighths_in_words_is_a_leak_with_label_form_and_position():
    text = "You ate seven eighths."
    assert find_leaks(text, SEVEN_EIGHTHS) == [Leak("subproblem 1", "words", 8, 21)]


@pytest.mark.parametrize("form", ["1 3/4", "1¾", "one and three quarters", "1.75", "7/4", "175%", "1\\frac{3}{4}"])
def test_every_form_of_seven_quarters_is_a_leak(form):
    assert leaked_forms(f"That makes {form} cups.", [number("1 3/4")]) == [form]


def test_twelve_in_words_is_a_leak():
    assert leaked_forms("There are twelve of them.", [number(12)]) == ["twelve"]


@pytest.mark.parametrize(
    "text",
    [
        "Is it 7/9?",
        "One slice is 1/8 of the pizza.",
        "The pizza has 8 slices.",
        "Look at the second mark.",
        "Try 0.87 again.",
        "7 of the 9 slices",
        "Add 3/4 and 1/8.",
    ],
)
def test_other_numbers_are_not_a_leak_of_seven_eighths(text):
    assert find_leaks(text, SEVEN_EIGHTHS) == []


def test_a_number_the_student_can_already_read_is_not_a_secret():
    eight = [number(8)]
    assert leaked_forms("Count the 8 slices.", eight) == ["8"]
    assert find_leaks("Count the 8 slices.", eight, visible="A pizza is cut into 8 slices.") == []
    assert find_leaks("Count the eight slices.", eight, visible="A pizza is cut into 8 slices.") == []


def test_a_denominator_in_the_statement_is_visible():
    statement = "Maya ran $\\frac{3}{4}$ of a mile and then $\\frac{1}{8}$ of a mile. What is the common denominator?"
    hint = "Look for the smallest number that both 4 and 8 divide into evenly."
    assert find_leaks(hint, [number(8)], visible=statement) == []
    assert leaked_forms(hint, [number(8)], visible="Maya ran some of a mile.") == ["8"]


def test_a_ratio_in_the_statement_does_not_excuse_the_fraction():
    visible = "Maya ate 7 of the 8 slices. What fraction of the pizza did she eat?"
    assert leaked_forms("She ate 7/8 of it.", SEVEN_EIGHTHS, visible) == ["7/8"]


def test_only_the_visible_value_is_excused():
    visible = "A pizza has 8 slices. Maya eats 3/4 of it and Sam eats 1/8."
    assert leaked_forms("Together, 6/8 and 1/8 make 7/8.", SEVEN_EIGHTHS, visible) == ["7/8"]


def test_tolerance_widens_what_counts_as_the_secret():
    pi = [number("3.14159", tolerance=0.01)]
    assert leaked_forms("It is about 3.14.", pi) == ["3.14"]
    assert find_leaks("It is more than 3.", pi) == []


def test_each_secret_is_reported_under_its_label():
    secrets = [number("3/4", "subproblem 1"), number("7/8", "problem")]
    leaks = find_leaks("3/4 plus 1/8 is 7/8.", secrets)
    assert [(leak.label, leak.form) for leak in leaks] == [("subproblem 1", "fraction"), ("problem", "fraction")]


# ---- expressions ----------------------------------------------------------


@pytest.mark.parametrize("form", ["2x/3", "(2/3)x", "2/3 x", "\\frac{2x}{3}", "\\frac{2}{3}x", "2*x/3", "x*2/3"])
def test_every_form_of_the_expression_is_a_leak(form):
    text = f"So the width is {form}, see?"
    assert leaked_forms(text, TWO_X_OVER_3) == [form]


@pytest.mark.parametrize(
    "text", ["Is it 3x/2?", "Try 2x + 3.", "Let x be the width.", "Divide by 3 and multiply by 2."]
)
def test_other_expressions_are_not_a_leak(text):
    assert find_leaks(text, TWO_X_OVER_3) == []


def test_an_expression_after_an_equals_sign_is_a_leak():
    assert leaked_forms("Then y = 2x/3.", TWO_X_OVER_3) == ["2x/3"]


def test_an_expression_already_in_the_statement_is_not_a_secret():
    assert find_leaks("Use 2x/3 from the question.", TWO_X_OVER_3, visible="The width is 2x/3 cm.") == []


# ---- choices --------------------------------------------------------------


def test_naming_the_correct_choice_alone_is_a_leak():
    assert leaked_forms("It's Osmosis, of course.", OSMOSIS) == ["Osmosis"]


def test_listing_every_choice_is_not_a_leak():
    assert find_leaks("Is it diffusion, osmosis or active transport?", OSMOSIS) == []


def test_naming_a_wrong_choice_is_not_a_leak():
    assert find_leaks("Think about what diffusion needs.", OSMOSIS) == []


def test_naming_the_correct_choice_with_some_others_is_a_leak():
    assert leaked_forms("Osmosis or diffusion?", OSMOSIS) == ["Osmosis"]


# ---- text -----------------------------------------------------------------


def test_stating_the_reference_with_its_keywords_is_a_leak():
    assert leaked_forms("It is the cell wall that does it.", CELL_WALL) == ["cell wall"]


def test_a_keyword_without_most_of_the_reference_is_not_a_leak():
    assert find_leaks("What is outside the membrane? Not a wall of bricks.", CELL_WALL) == []


def test_words_the_student_can_already_read_do_not_leak_by_themselves():
    visible = "Is it the cell wall or the cell membrane?"
    assert find_leaks("Both the cell wall and the cell membrane are outside.", CELL_WALL, visible) == []


def test_a_text_answer_with_several_keywords_needs_all_of_them():
    secret = [
        Secret(
            "s", {"kind": "text", "references": ["carbon dioxide and water"], "keywords": ["carbon dioxide", "water"]}
        )
    ]
    assert find_leaks("Carbon dioxide is one of them.", secret) == []
    assert leaked_forms("Carbon dioxide and water.", secret) == ["Carbon dioxide and water"]


# ---- guard() --------------------------------------------------------------


def test_a_clean_reply_passes_unchanged():
    assert guard("What do you add first?", SEVEN_EIGHTHS) == GuardResult("passed", "What do you add first?", ())


def test_guard_picks_the_first_clean_alternative_and_records_the_original_leaks():
    alternatives = [("rewritten", "That is 0.875."), ("rewritten", "How many eighths in all?"), ("blocked", "Hint.")]
    result = guard("So it's seven eighths!", SEVEN_EIGHTHS, alternatives=alternatives)
    assert result.outcome == "rewritten" and result.text == "How many eighths in all?"
    assert result.leaks == (Leak("subproblem 1", "words", 8, 21),)


def test_guard_falls_back_to_the_scripted_alternative():
    result = guard("7/8", SEVEN_EIGHTHS, alternatives=[("rewritten", "14/16"), ("blocked", "Add the pieces.")])
    assert (result.outcome, result.text) == ("blocked", "Add the pieces.")


def test_guard_blocks_with_a_safe_text_without_numbers_when_every_alternative_leaks():
    result = guard("7/8", SEVEN_EIGHTHS, alternatives=[("rewritten", "0.875"), ("blocked", "seven eighths")])
    assert result.outcome == "blocked" and result.text == SAFE_TEXT and len(result.leaks) == 1
    assert number_mentions(SAFE_TEXT) == []


def test_guard_refuses_an_alternative_that_claims_to_have_passed():
    with pytest.raises(ValueError, match="rewritten"):
        guard("7/8", SEVEN_EIGHTHS, alternatives=[("passed", "hint")])


# ---- StreamGuard ----------------------------------------------------------

LEAKY = "Good work so far. Putting both parts together, you get seven eighths of the pizza in the end."


def stream(text, secrets, cuts, holdback=48):
    """Feed ``text`` cut at ``cuts``; return (every release in order, the guard)."""
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    streamer = StreamGuard(secrets, holdback=holdback)
    released = [streamer.feed(piece) for piece in pieces]
    released.append(streamer.finish())
    return released, streamer


def test_stream_never_releases_any_part_of_a_leak_split_in_two():
    start = LEAKY.index("seven eighths")
    for cut in range(1, len(LEAKY)):
        released, streamer = stream(LEAKY, SEVEN_EIGHTHS, [cut])
        shown = "".join(released)
        assert streamer.leaked, cut
        assert LEAKY.startswith(shown) and len(shown) <= start, (cut, shown)


def test_stream_never_releases_a_leak_fed_one_character_at_a_time():
    released, streamer = stream(LEAKY, SEVEN_EIGHTHS, list(range(1, len(LEAKY))))
    shown = "".join(released)
    assert streamer.leaked and "seven" not in shown and shown == LEAKY[: len(shown)]


def test_stream_catches_seven_eigh_then_ths():
    streamer = StreamGuard(SEVEN_EIGHTHS, holdback=48)
    first = streamer.feed("Right, so altogether that is seven eigh")
    second = streamer.feed("ths of the pizza, as you can see from the picture above.")
    assert first == "Right, so altogether that is " and second == "" and streamer.finish() == ""
    assert streamer.leaked and streamer.leaks[0].form == "words"


def test_stream_releases_everything_of_a_clean_reply():
    clean = "Good. Each slice is one eighth of the pizza. How many slices did they eat together?"
    for cuts in ([], [5], list(range(1, len(clean), 7)), list(range(1, len(clean)))):
        released, streamer = stream(clean, SEVEN_EIGHTHS, cuts)
        assert "".join(released) == clean and not streamer.leaked


def test_stream_holds_back_the_whole_tail_when_a_secret_is_an_expression():
    streamer = StreamGuard(TWO_X_OVER_3, holdback=10)
    assert streamer.feed("Think about the slices first") == "Think about the sl"  # 28 characters, 10 held
    assert streamer.feed(", then add.") == "ices first,"
    assert streamer.finish() == " then add."


def test_stream_of_a_number_secret_releases_prose_as_it_comes():
    streamer = StreamGuard(SEVEN_EIGHTHS, holdback=48)
    assert streamer.feed("Not") == "Not"  # the first word at once: it cannot become a number word
    assert streamer.feed(" quite! What do the sli") == " quite! What do the sli"
    assert streamer.feed("ces tell you?") == "ces tell you?"
    assert streamer.finish() == "" and not streamer.leaked


def test_stream_of_a_number_secret_holds_from_a_number_word_or_digit_on():
    streamer = StreamGuard(SEVEN_EIGHTHS, holdback=48)
    assert streamer.feed("Nearly. Count them again: seven slices and") == "Nearly. Count them again: "
    streamer = StreamGuard(SEVEN_EIGHTHS, holdback=48)
    assert streamer.feed("Look at the 8 slices again, then") == "Look at the "
    streamer = StreamGuard(SEVEN_EIGHTHS, holdback=48)
    assert streamer.feed("So far so good. Next, think") == "So far so good. Next, think"  # a full stop, not "0.5"
    assert streamer.feed(" of .5 as") == " of "


def test_stream_of_a_number_secret_holds_an_unfinished_word_that_could_become_a_number():
    streamer = StreamGuard(SEVEN_EIGHTHS, holdback=48)
    assert streamer.feed("Count the sev") == "Count the "
    assert streamer.feed("eral slices") == "several slices"  # "several" is no number word after all
    assert streamer.feed(" and the point") == " and the "
    assert streamer.feed("s") == "points"  # no number word starts with "points"
    assert streamer.feed(".") == ""  # maybe ".5"
    assert streamer.finish() == "."


def test_stream_of_a_number_secret_releases_a_number_once_it_is_past_the_holdback():
    text = "Twenty slices would make too many to count"
    assert StreamGuard(SEVEN_EIGHTHS, holdback=48).feed(text) == ""
    assert StreamGuard(SEVEN_EIGHTHS, holdback=10).feed(text) == text


def test_stream_of_a_choice_holds_from_an_option_word_on():
    streamer = StreamGuard(OSMOSIS, holdback=48)
    assert streamer.feed("Think about how water moves. Is it os") == "Think about how water moves. Is it "
    assert streamer.feed("mosis, diffusion or active transport?") == ""  # the list may still name every option
    assert streamer.finish() == "osmosis, diffusion or active transport?" and not streamer.leaked


def test_stream_of_a_text_secret_holds_from_a_word_of_it_on():
    streamer = StreamGuard(CELL_WALL, holdback=48)
    assert streamer.feed("Good question! What keeps a plant cell st") == "Good question! What keeps a plant "
    assert streamer.feed("iff? Look at its outer wa") == ""
    assert streamer.feed("ll.") == "" and streamer.finish() == "" and streamer.leaked  # "cell ... wall" states it


ARTICLES = ("a ", "an ")
PIECES = [
    "seven", "eighths", "eighth", "7", "/", "8", "0.875", ".", "875", "%", "87.5", "a", "half", "out", "of",
    "one", "and", "three", "quarters", "slices", "pizza", "Good", "try", "!", ",", "?", "-", "\\frac{7}{8}", "⅞",
    "point", "over", "the", "fourteen", "sixteenths", "14/16", "Think", "again", "1", "3",
]  # fmt: skip


WORDY_PIECES = [
    "cell", "wall", "walls", "Wall", "the", "plant", "outer", "osmosis", "Osmosis", "diffusion", "active", "transport",
    "water", "moves", "by", "or", ",", ".", "?", "!", "Think", "again", "membrane", "it", "is", "its", "what",
    "os", "mo",
]  # fmt: skip


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(
    secrets=st.sampled_from([CELL_WALL, OSMOSIS]),
    words=st.lists(st.sampled_from(WORDY_PIECES), min_size=1, max_size=16),
    gaps=st.lists(st.sampled_from([" ", "", "  "]), min_size=16, max_size=16),
    cuts=st.sets(st.integers(min_value=1, max_value=140), max_size=8),
)
def test_stream_of_a_text_or_choice_secret_shows_no_more_of_a_leak_than_a_whole_tail_holdback(
    secrets, words, gaps, cuts
):
    """Against the plain 48-character holdback: what is released earlier holds no word of the secret."""
    text = "".join(w + g for w, g in zip(words, gaps, strict=False)).strip() or "x"
    pieces = sorted(c for c in cuts if c < len(text))
    released, streamer = stream(text, secrets, pieces)
    whole_tail = StreamGuard(secrets, holdback=48)
    whole_tail._secret_words = None  # hold the whole tail, as for an expression
    plain = [whole_tail.feed(text[a:b]) for a, b in zip([0, *pieces], [*pieces, len(text)], strict=True)]
    shown, shown_plain = "".join(released), "".join(plain) + whole_tail.finish()
    assert text.startswith(shown) and streamer.leaked == whole_tail.leaked
    if not find_leaks(shown_plain, secrets):
        assert not find_leaks(shown, secrets), (text, shown)
    if not find_leaks(text, secrets):
        assert shown == text


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(
    words=st.lists(st.sampled_from(PIECES), min_size=1, max_size=14),
    gaps=st.lists(st.sampled_from([" ", "", "  "]), min_size=14, max_size=14),
    cuts=st.sets(st.integers(min_value=1, max_value=120), max_size=8),
)
def test_stream_never_shows_any_part_of_a_number_leak_past_its_article(words, gaps, cuts):
    text = "".join(w + g for w, g in zip(words, gaps, strict=False)).strip() or "x"
    released, streamer = stream(text, SEVEN_EIGHTHS, sorted(c for c in cuts if c < len(text)))
    shown = "".join(released)
    assert text.startswith(shown)
    for leak in find_leaks(text, SEVEN_EIGHTHS):
        lead = next((a for a in ARTICLES if text.startswith(a, leak.start)), "")
        assert len(shown) <= leak.start + len(lead), (text, shown, leak)
    if not find_leaks(text, SEVEN_EIGHTHS):
        assert shown == text and not streamer.leaked


def test_stream_lets_a_choice_list_finish_before_judging_it():
    question = "Is it diffusion, osmosis or active transport? Think about what moves."
    released, streamer = stream(question, OSMOSIS, list(range(1, len(question))))
    assert "".join(released) == question and not streamer.leaked


def test_stream_stops_for_good_after_a_leak():
    streamer = StreamGuard(SEVEN_EIGHTHS, holdback=0)
    assert streamer.feed("It is 7/8") == ""
    assert streamer.feed(" and that is all, nothing else to add here at all.") == ""
    assert streamer.finish() == "" and streamer.leaked
