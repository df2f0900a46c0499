"""The NLP engine Presidio runs on: spaCy's blank English pipeline (a tokenizer, no trained model).

Why blank: spaCy's trained pipelines (``en_core_web_*``) are not on the registries this project installs from
(they are GitHub release assets; the PyPI copies are unofficial re-uploads we will not pin). Every recognizer we
rely on is a pattern or checksum recognizer, which needs only tokens and lemmas for its context words. A blank
pipeline has no lemmatizer, so a one-line component stands in: the lower-cased token (context words are matched
lower-cased, so "Email:" still boosts an email-looking span). Person names then come from our context recognizer
(``recognizers.PersonNameRecognizer``), not from a statistical NER model; a production deployment that can pin
``en_core_web_lg`` by hash gets Presidio's NER on top by changing ``load`` only.
"""

from __future__ import annotations

import spacy
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from spacy.language import Language
from spacy.tokens import Doc

LANGUAGE = "en"
_LEMMA_COMPONENT = "helpline_lower_lemmas"


@Language.component(_LEMMA_COMPONENT)
def _lower_lemmas(doc: Doc) -> Doc:
    for token in doc:
        token.lemma_ = token.lower_
    return doc


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine on ``spacy.blank("en")``: tokens and lower-case lemmas, no entities."""

    def __init__(self) -> None:
        super().__init__(models=[{"lang_code": LANGUAGE, "model_name": "blank:en"}])

    def load(self) -> None:
        nlp = spacy.blank(LANGUAGE)
        nlp.add_pipe(_LEMMA_COMPONENT)
        self.nlp = {LANGUAGE: nlp}
