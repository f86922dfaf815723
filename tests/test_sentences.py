"""sentences: one rule for where a sentence ends, shared by subtitle, lead, takeaways, summaries."""

from __future__ import annotations

import pytest

from digest import sentences
from digest.normalize import lead_sentences
from digest.render import first_sentence
from digest.takeaways import split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("U.S. regulators approved it. Then more.", ["U.S. regulators approved it.", "Then more."]),
        ("The U.S. Army moved. Next.", ["The U.S. Army moved.", "Next."]),
        ("Dr. Lee said so! Really? Yes.", ["Dr. Lee said so!", "Really?", "Yes."]),
        ("The No. 5 pick won. No. It lost.", ["The No. 5 pick won.", "No.", "It lost."]),
        ("Tools, e.g. Cursor, help. OK.", ["Tools, e.g. Cursor, help.", "OK."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        (
            "Shares rose 2.5% in Jan. to a high. Then fell.",
            ["Shares rose 2.5% in Jan. to a high.", "Then fell."],
        ),
        ("Yahoo! said it would. Fine", ["Yahoo! said it would.", "Fine"]),
        ("It beat the Army's. Then won.", ["It beat the Army's.", "Then won."]),  # not an initial
        ("  No stop at   all ", ["No stop at all"]),
        ("", []),
    ],
)
def test_where_sentences_end(text: str, expected: list[str]) -> None:
    assert sentences.split(text) == expected
    assert sentences.first(text) == (expected[0] if expected else "")


def test_every_part_that_cuts_sentences_cuts_them_alike() -> None:
    text = "The No. 5 model from Dr. Lee beat the U.S. Army's. It was fast."
    assert [s for _, s in split_sentences(text)] == sentences.split(text)
    assert first_sentence(text) == sentences.first(text)  # the list's and cards' summaries
    assert lead_sentences(text, limit=55) == "The No. 5 model from Dr. Lee beat the U.S. Army's."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("By Jane Doe | March 3, 2026\n\nNimbus AI cut its prices. More.", "Nimbus AI cut its prices."),
        ("Photo: Reuters\n\nNimbus AI cut its prices.", "Nimbus AI cut its prices."),
        ("Nimbus AI cut its prices.\n\nShares rose 3%.", "Nimbus AI cut its prices."),
        ("Nimbus AI cuts prices by 50%\n\nNo stop here either", "Nimbus AI cuts prices by 50%"),
    ],
)
def test_a_summary_opens_on_its_first_sentence_not_on_a_byline_or_a_credit(text: str, expected: str) -> None:
    assert sentences.first(text) == expected
    assert first_sentence(text) == expected  # what the list and the cards show


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nvidia chip doubles speed\n\nPhoto: Getty Images.", "Nvidia chip doubles speed"),
        ("Best AI tools\n\nThe post Best AI tools appeared first on Design Weekly.", "Best AI tools"),
        ("An excerpt with no stop\n\nRead more...", "An excerpt with no stop"),
        (
            "By Jane Doe | March 3, 2026\n\nNimbus AI said it would ship. More later.",
            "Nimbus AI said it would ship.",
        ),
    ],
)
def test_first_passes_over_a_byline_for_a_sentence_of_the_story_not_a_credit_or_a_footer(
    text: str, expected: str
) -> None:
    assert sentences.first(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # German abbreviations before a capitalized noun or a number
            "Mistral hat 600 Mio. Euro eingesammelt. Der Wert liegt bei ca. 6 Mrd. Euro.",
            ["Mistral hat 600 Mio. Euro eingesammelt.", "Der Wert liegt bei ca. 6 Mrd. Euro."],
        ),
        (
            "Siemens kauft u. a. Chips, z. B. von Nvidia. Die Nr. 1 setzt auf KI.",
            ["Siemens kauft u. a. Chips, z. B. von Nvidia.", "Die Nr. 1 setzt auf KI."],
        ),
        (  # the ordinal of a date
            "Das Kabinett hat am 13. Juni entschieden. Der Bau beginnt im 3. Quartal.",
            ["Das Kabinett hat am 13. Juni entschieden.", "Der Bau beginnt im 3. Quartal."],
        ),
        ("Apple released iOS 18. The update is free.", ["Apple released iOS 18.", "The update is free."]),
        (  # German and French quotes close their sentence
            "Busch sagte: „Wir wollen vorne sein.“ Dann ging er.",
            ["Busch sagte: „Wir wollen vorne sein.“", "Dann ging er."],
        ),
        (
            "« Nous allons investir. » Le PDG l’a dit. Pourquoi ? Parce que.",
            ["« Nous allons investir. »", "Le PDG l’a dit.", "Pourquoi ?", "Parce que."],
        ),
        (
            "Los EE. UU. anunciaron reglas. La Sra. López habló.",
            ["Los EE. UU. anunciaron reglas.", "La Sra. López habló."],
        ),
        (  # Japanese stops need no space; a quote a particle goes on from is not an end
            "新しいモデルを発表した。「速い。」と述べた。価格は半分？",
            ["新しいモデルを発表した。", "「速い。」と述べた。", "価格は半分？"],
        ),
        (
            "أعلنت الشركة عن نموذج جديد. هل هو أفضل؟ نعم.",
            ["أعلنت الشركة عن نموذج جديد.", "هل هو أفضل؟", "نعم."],
        ),
    ],
)
def test_where_sentences_end_in_other_languages(text: str, expected: list[str]) -> None:
    assert sentences.split(text) == expected
    assert first_sentence(text) == expected[0]  # what the list and the cards show


@pytest.mark.parametrize(
    ("text", "last"),
    [
        ("x" + "\U0001f1fa\U0001f1f8" * 40, "\U0001f1fa\U0001f1f8"),  # flags: never half of one ("U")
        ("\U0001f468\u200d\U0001f469\u200d\U0001f467" * 20, "\U0001f467"),  # a family, joined
        ("\U0001f44d\U0001f3fd" * 40, "\U0001f3fd"),  # a thumb with its skin tone
        ("e\u0301" * 60, "\u0301"),  # a letter with its accent
    ],
)
def test_a_cut_never_splits_what_a_reader_sees_as_one_character(text: str, last: str) -> None:
    cut = sentences.shorten(text, 30)
    assert cut.endswith(last + "…") and len(cut) <= 30
    assert text.startswith(cut[:-1])


def test_a_cut_ends_at_a_clause_when_one_ends_late_enough() -> None:
    # most leads ran 210-260 characters, and their teasers ended "…as it expands deployments…"
    lead = (
        "Toronto-based Cohere said on Wednesday it had raised $600 million in a round co-led by Radical "
        "Ventures and Inovia Capital, valuing the enterprise AI company at $7 billion as it expands "
        "deployments for governments and banks."
    )
    assert sentences.shorten(lead, 200) == (
        "Toronto-based Cohere said on Wednesday it had raised $600 million in a round co-led by Radical "
        "Ventures and Inovia Capital…"
    )
    early = (
        "Meta, the owner of Facebook, said it would build a new data center in Louisiana for its next models"
    )
    assert (
        sentences.shorten(early, 80)
        == "Meta, the owner of Facebook, said it would build a new data center…"  # not "…center in…"
    )
    assert sentences.shorten("Google released Gemini 3 Flash a day after its rival shipped", 50) == (
        "Google released Gemini 3 Flash a day…"  # not "…a day after its…"
    )
    # an abbreviation names what was cut: "…meet U.S.…" and "…led by Dr.…" say nothing
    assert sentences.shorten("Nvidia will sell the H20 chips that meet U.S. export rules to China", 50) == (
        "Nvidia will sell the H20 chips that meet…"
    )
    lab = "The lab is led by Dr. Fei-Fei Li of Stanford since 2024"
    assert sentences.shorten(lab, 30) == "The lab is led…"
