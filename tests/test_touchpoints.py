"""Touchpoints: the bundled taxonomy, bilingual tagging rules, and errors a user can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.touchpoints import (
    DEFAULT_TAXONOMY_FILE,
    Taxonomy,
    TaxonomyError,
    TouchpointTagger,
    load_taxonomy,
)

ROOT = Path(__file__).parents[1]
BUNDLED = ROOT / "config" / DEFAULT_TAXONOMY_FILE


@pytest.fixture(scope="module")
def tagger() -> TouchpointTagger:
    """A tagger for the bundled taxonomy."""
    return TouchpointTagger(load_taxonomy(BUNDLED))


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / DEFAULT_TAXONOMY_FILE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    return caught.value.errors


def test_bundled_taxonomy_loads_in_file_order() -> None:
    taxonomy = load_taxonomy(BUNDLED)
    assert taxonomy.ids == ("delivery", "support", "billing", "product", "price", "app", "store")
    assert taxonomy.label("support", "es") == "Atención al cliente"
    assert taxonomy.label("support", "fr") == "Customer support"
    for touchpoint in taxonomy.touchpoints.values():
        assert {"en", "es"} <= set(touchpoint.label) and {"en", "es"} <= set(touchpoint.terms)


def test_taxonomy_is_frozen() -> None:
    taxonomy = load_taxonomy(BUNDLED)
    with pytest.raises(ValueError, match="frozen"):
        taxonomy.touchpoints = {}  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My parcel never arrived and the tracking hasn't moved", ("delivery",)),
        ("El repartidor dejó el paquete en otro portal", ("delivery",)),
        ("Been on hold with customer service for 40 minutes", ("support",)),
        ("la atención al cliente no contesta nunca", ("support",)),
        ("Still waiting for my refund, charged twice", ("billing",)),
        ("me cobraron dos veces y sin reembolso", ("billing",)),
        ("The jacket arrived with a broken zip, terrible quality", ("product",)),
        ("Subieron los precios otra vez, qué caro", ("price",)),
        ("The app crashes every time I log in", ("app",)),
        ("No puedo iniciar sesión, la aplicación se cierra sola", ("app",)),
        ("The staff at the store on Main St were lovely", ("store",)),
        ("fui a la sucursal del centro y estaba cerrada", ("store",)),
        ("Happy Friday everyone!", ()),
    ],
)
def test_tags_in_english_and_spanish(
    tagger: TouchpointTagger, text: str, expected: tuple[str, ...]
) -> None:
    assert tagger.tag(text) == expected


def test_case_and_accents_do_not_matter(tagger: TouchpointTagger) -> None:
    # The file says "envío" and "contraseña"; people type all sorts.
    for text in ("mi envio no llega", "MI ENVÍO NO LLEGA", "mi Envío no llega"):
        assert tagger.tag(text) == ("delivery",)
    assert tagger.tag("olvidé la contrasena") == ("app",)
    assert tagger.tag("olvidé la CONTRASEÑA") == ("app",)
    curly = "it didn\u2019t arrive"
    assert tagger.tag(curly) == tagger.tag("it didnt arrive") == ("delivery",)


def test_whole_words_only(tagger: TouchpointTagger) -> None:
    assert tagger.tag("so happy with this") == ()  # "app" inside "happy"
    assert tagger.tag("a real appetite for it") == ()
    assert tagger.tag("their apps are fine") == ("app",)
    assert tagger.tag("#app is down again") == ("app",)
    # Handles and links are not words of the post.
    assert tagger.tag("@app_support https://app.example.com/login thanks") == ()


def test_prefix_terms(tagger: TouchpointTagger) -> None:
    for word in ("entrega", "entregado", "entregaron", "ENTREGUÉ"):
        assert tagger.tag(f"la {word} fue un desastre") == ("delivery",)
    assert tagger.tag("refunds take forever") == ("billing",)
    assert tagger.tag("refunded at last") == ("billing",)


def test_phrases_span_spaces_and_hyphens(tagger: TouchpointTagger) -> None:
    assert tagger.tag("can't log-in since Monday") == ("app",)
    assert tagger.tag("can't log   in since Monday") == ("app",)
    assert tagger.tag("the log is in the shed") == ()


def test_multi_label_in_taxonomy_order(tagger: TouchpointTagger) -> None:
    text = "App crashed at checkout, the courier was late and I got charged a hidden fee"
    assert tagger.tag(text) == ("delivery", "billing", "price", "app")


def test_tag_many_matches_tag(tagger: TouchpointTagger) -> None:
    texts = ["parcel lost", "", "la app no carga", "nice weather"]
    assert tagger.tag_many(texts) == [tagger.tag(t) for t in texts]
    assert tagger.tag_many(iter(texts)) == [("delivery",), (), ("app",), ()]


def test_a_user_added_touchpoint_just_works(tmp_path: Path) -> None:
    path = tmp_path / DEFAULT_TAXONOMY_FILE
    path.write_text(
        BUNDLED.read_text(encoding="utf-8")
        + """
  loyalty:
    label: {en: Loyalty programme, es: Programa de puntos}
    terms:
      en: [loyalty, "reward points", reward*]
      es: [puntos, fidelidad, "tarjeta de socio"]
""",
        encoding="utf-8",
    )
    taxonomy = load_taxonomy(path)
    assert taxonomy.ids[-1] == "loyalty"
    tagger = TouchpointTagger(taxonomy)
    assert tagger.tag("Where are my reward points?") == ("loyalty",)
    assert tagger.tag("perdí la tarjeta de socio y los puntos") == ("loyalty",)
    assert tagger.tag("My parcel is late and no rewards either") == ("delivery", "loyalty")


def test_a_minimal_taxonomy_from_code() -> None:
    taxonomy = Taxonomy.model_validate(
        {"touchpoints": {"billing": {"label": {"en": "Billing"}, "terms": {"en": ["invoice*"]}}}}
    )
    assert TouchpointTagger(taxonomy).tag("Invoices are wrong") == ("billing",)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "touchpoints:\n  delivery:\n    label: {en: Delivery}\n"
            "    terms:\n      en: [parcel, courier, driver, '*late']\n",
            "touchpoints.yaml: touchpoints.delivery.terms.en[3]: `*` may only end a term",
        ),
        (
            "touchpoints:\n  delivery:\n    label: {en: Delivery}\n    terms:\n      en: [de*]\n",
            "touchpoints.delivery.terms.en[0]: prefix 'de*' is too short",
        ),
        (
            "touchpoints:\n  delivery:\n    terms:\n      en: [parcel]\n",
            "touchpoints.delivery.label: required key is missing",
        ),
        (
            "touchpoints:\n  delivery:\n    label: {en: Delivery}\n    terms: {en: [parcel]}\n"
            "    colour: red\n",
            "touchpoints.delivery.colour: unknown key",
        ),
        (
            "touchpoints:\n  Delivery Stuff:\n    label: {en: D}\n    terms: {en: [parcel]}\n",
            "touchpoints: touchpoint id 'Delivery Stuff' must be lowercase",
        ),
        (
            "touchpoints:\n  delivery:\n    label: {en: Delivery}\n    terms: {EN: [parcel]}\n",
            "touchpoints.delivery.terms.EN: expected a language code",
        ),
        (
            "touchpoints:\n  delivery:\n    label: {en: Delivery}\n    terms: {en: []}\n",
            "touchpoints.delivery: give the touchpoint at least one term",
        ),
        (
            "touchpoints:\n  delivery:\n    label: {en: Delivery}\n    terms: {en: parcel}\n",
            "touchpoints.delivery.terms.en: expected a list",
        ),
        ("touchpoints: [delivery, support]\n", "touchpoints: expected a mapping"),
        ("- just\n- a list\n", "(top level): expected `touchpoints:`"),
        ("touchpoints:\n  delivery: {label: {en: D}, terms: {en: [x]]}\n", "invalid YAML"),
    ],
)
def test_malformed_files_name_the_file_and_key(tmp_path: Path, text: str, where: str) -> None:
    errors = _errors(tmp_path, text)
    assert any(where in error for error in errors), errors
    assert all(error.startswith(str(tmp_path / DEFAULT_TAXONOMY_FILE)) for error in errors)


def test_a_pasted_touchpoint_that_keeps_its_id_is_refused(tmp_path: Path) -> None:
    text = BUNDLED.read_text(encoding="utf-8") + (
        "\n  delivery:\n    label: {en: Shipping}\n    terms: {en: [shipping]}\n"
    )
    (error,) = _errors(tmp_path, text)
    assert "duplicate key 'delivery'" in error


def test_a_missing_file_is_a_taxonomy_error(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(tmp_path / "nope.yaml")
    (error,) = caught.value.errors
    assert "nope.yaml: cannot read the file" in error
