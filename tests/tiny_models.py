"""Tiny local models for tests: an XLM-R-shaped classifier and its tokenizer, built on disk.

Nothing here touches the network: the tokenizer's vocabulary comes from the sentences
below and the model's weights from a seeded random generator, so a test can build a
model in a temporary folder and load it with `from_pretrained` like a real one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# A few dozen posts in English and Spanish, already normalised the way engines see them.
SENTENCES: tuple[str, ...] = (
    "the delivery was late again and nobody answered my emails",
    "great service, the courier was early and very friendly",
    "the app keeps crashing when I try to pay",
    "my card was charged twice, I want a refund now",
    "thanks @user for fixing my account so fast",
    "the new update is awesome, love the dark mode",
    "worst customer support ever, three hours on hold",
    "package arrived today, everything in perfect condition",
    "is the store open on sunday?",
    "the price went up but the quality is the same",
    "I ordered a blue jacket and got a red one",
    "honestly not bad for the price",
    "they lost my parcel and blame me for it",
    "check the new offers here http",
    "happy with my purchase, will buy again",
    "the chat agent was rude and closed my ticket",
    "it works, nothing special",
    "terrible experience, never again",
    "good morning, what time does the shop close?",
    "fast shipping and nice packaging",
    "el pedido llegó tarde y nadie responde",
    "excelente servicio, el repartidor fue muy amable",
    "la aplicación se cierra cada vez que intento pagar",
    "me cobraron dos veces, quiero mi reembolso",
    "gracias @user por resolverlo tan rápido",
    "la nueva versión está genial, me encanta",
    "el peor servicio al cliente, tres horas esperando",
    "el paquete llegó hoy en perfecto estado",
    "¿la tienda abre el domingo?",
    "subió el precio pero la calidad es la misma",
    "pedí una chaqueta azul y me llegó una roja",
    "la verdad no está mal por el precio",
    "perdieron mi paquete y me culpan a mí",
    "mira las nuevas ofertas aquí http",
    "contenta con mi compra, volveré a comprar",
    "el agente del chat fue grosero y cerró mi caso",
    "funciona, nada especial",
    "experiencia horrible, nunca más",
    "buenos días, ¿a qué hora cierra la tienda?",
    "envío rápido y buen embalaje",
)

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")  # XLM-R's ids 0-4
MAX_POSITIONS = 160  # XLM-R positions start at pad id + 1: room for 158 tokens

_WORD = re.compile(r"[^\W_]+|@user", re.UNICODE)
_CHARACTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "áéíóúüñÁÉÍÓÚÜÑ¿¡.,;:!?'\"()-@#$%&*/"
)


def tiny_vocabulary() -> list[tuple[str, float]]:
    """Unigram pieces with scores: special tokens, each corpus word whole, then characters.

    Whole words score far above single characters, so a corpus word is one token and
    anything else is spelled out character by character (unknown characters as <unk>).
    """
    words = sorted({w for s in SENTENCES for w in _WORD.findall(s)})
    pieces = [(token, 0.0) for token in SPECIAL_TOKENS]
    pieces += [(f"▁{word}", -5.0) for word in words]
    pieces += [("▁", -10.0)] + [(char, -10.0) for char in _CHARACTERS]
    return pieces


def tiny_tokenizer() -> Any:
    """An XLM-R tokenizer (a `tokenizers` Unigram model) over `tiny_vocabulary()`."""
    from transformers import XLMRobertaTokenizer

    # In transformers 5 this class *is* the fast, tokenizers-backed one, and it rebuilds
    # its normaliser and pre-tokeniser from the vocabulary alone when loaded: building
    # it from a vocabulary (rather than a hand-made pipeline) keeps a reload identical.
    return XLMRobertaTokenizer(vocab=tiny_vocabulary())


def build_tiny_classifier(
    path: Path, id2label: dict[int, str], seed: int = 0, winner: int | None = None
) -> Path:
    """Save a tiny XLM-R sequence classifier and its tokenizer in `path`; return `path`.

    Weights are random but fixed by `seed`, large enough that different texts get
    visibly different probabilities. With `winner`, the classifier's bias makes output
    column `winner` win for every text (probability above 0.999), to test label mapping.
    """
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    tokenizer = tiny_tokenizer()
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_POSITIONS,
        type_vocab_size=1,
        initializer_range=0.2,
        id2label=dict(id2label),
        label2id={name: index for index, name in id2label.items()},
    )
    torch.manual_seed(seed)
    model: Any = XLMRobertaForSequenceClassification(config)
    model.eval()
    if winner is not None:
        with torch.no_grad():
            model.classifier.out_proj.weight.zero_()
            model.classifier.out_proj.bias.zero_()
            model.classifier.out_proj.bias[winner] = 10.0
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
