"""Words for themes: what a post says, as weighted tokens, in English and Spanish.

Stopwords and negators, a small bilingual lexicon of customer-service concepts ("refund"
and "reembolso" are one token), light stemming, accent folding, and the `Analyser` that
turns a text into a `Doc`: unigrams, concepts, negated forms, word pairs and emoji, each
with a weight and the words it was written as. Everything here is accent-folded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from models.normalize import PLACEHOLDERS, normalize
from models.touchpoints import fold

__all__ = [
    "STOPWORDS",
    "TOUCHPOINT_PREFIX",
    "TOUCHPOINT_WEIGHT",
    "Analyser",
    "Doc",
    "is_repost",
    "is_shown",
]

_NEG = "!"  # marks a negated word: "never arrived" → "!~arrive"
TOUCHPOINT_PREFIX = "tp:"  # touchpoint tokens, never shown in labels
TOUCHPOINT_WEIGHT = 1.0
_UNIGRAM, _CONCEPT, _BIGRAM, _EMOJI = 1.0, 1.5, 0.5, 0.5


# ---------------------------------------------------------------------------------------
# Words: stopwords, negators and a small bilingual lexicon (all accent-folded)
# ---------------------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _words(
    """
    a about above after again against ago all almost also am an and any anyone anything are
    around as at away back be because been before being below between both but by can could
    did do does doing done down during each else even ever every everyone everything for from
    get gets getting go goes going gone got gotta had has have having he her here hers him his
    how i id if ill im in into is it its ive just let lets like ll me mine more most much must
    my myself now of off on once one only or other our out over own re really same she should
    so some someone something still such than that thats the their them then there these they
    this those through to too under until up us ve very via was way we were what whats when
    where which while who whom whose why will with would yet you your youre yours says said
    today yesterday tomorrow tonight morning afternoon day days week weeks month months year
    hour hours minute minutes time times first second third last again already since ago
    worst terrible awful horrible ridiculous useless pathetic unacceptable annoying annoyed
    angry furious frustrated frustrating disappointed disappointing great thanks thank please
    pls plz seriously literally honestly actually lol lmao omg wtf smh ugh tbh fr af bro guys
    hey hi hello ok okay yeah yes wow love hate best good bad fine nice cool amazing awesome
    happy sad joke cheers anyone else exactly apparently clearly def btw idk anybody
    somebody try trying tried want wanted know knows think thinking thought thoughts guess
    el la los las lo le les un una unos unas y e o u de del al a ante con contra en entre
    hacia hasta para por segun sobre tras que q k porque xq pq como cuando donde quien cual
    cuanto este esta esto estos estas ese esa eso esos esas aquel mi mis tu tus su sus me te
    se nos os yo ella ellos ellas usted ustedes nosotros vosotros mio mia tuyo suyo ser es soy
    son era eran fue fueron sido estar estoy estas esta estan estaba estado he has ha han
    hemos habia hay haber hace hacer hizo tengo tiene tienen tener tenia voy va van ir pero
    mas más muy tan tambien ya aun todavia siempre otra otro otros otras vez veces todo toda
    todos todas nada algo alguien alguno alguna cada mismo asi bien mal solo sola pues puedo
    puede pueden poder deja dejan dice dicen decir pone sea si sí ahora luego despues antes
    hoy ayer manana tarde noche dia dias semana semanas mes meses ano hora horas minuto
    minutos peor pesimo pesima fatal horrible terrible verguenza ridiculo inutil increible
    gracias porfa favor neta wey guey tio tia oigan oye hola buenas buenos bueno vale ok super
    jaja jajaja jajajaja xd osea llevo lleva llevan llevamos acabo acaba tal ver veo sabe
    saben intento intentando quiero queria creo
    """
)
_NEGATORS = _words(
    """
    not no never nobody nothing none nor cant cannot dont didnt doesnt isnt wasnt arent
    werent hasnt havent hadnt wont wouldnt couldnt shouldnt aint without nunca jamas ni sin
    nadie tampoco
    """
)
# One concept per line: its name, then words (any language) that mean it in customer talk.
_CONCEPTS = """
arrive: arrive arrived arrives arriving arrival showed llegar llego llegado llega llegue
    llegada llegaron llegan
deliver: deliver delivered delivery deliveries entregar entrego entregado entregada entrega
    entregas entregaron entregue reparto
parcel: parcel parcels package packages box boxes paquete paquetes caja cajas bulto envio
    envios shipment
order: order orders pedido pedidos orden compra compras
courier: courier couriers driver drivers mensajero mensajeros repartidor repartidores
    chofer conductor transportista
tracking: tracking track tracker seguimiento rastreo rastrear
status: marked marks mark status marca marcado marcando figura aparece
missing: missing lost disappeared vanished nowhere perdido perdida perdio perdieron
    extraviado extraviada desaparecido desaparecio
neighbour: neighbour neighbours neighbor neighbors vecino vecinos vecina vecinas
door: door doorstep porch gate puerta portal porteria zaguan conserjeria reception
doorbell: doorbell bell ring ringing knock knocked timbre tocar toco
camera: camera video cctv footage camara grabacion grabado
rude: rude yelled yelling shouted swearing insulted grosero grosera maleducado maleducada
    borde grito gritando insulto
throw: threw throw thrown tossed kicked kicking avento tiro tiraron pateaba pateo lanzo
address: address direccion
refund: refund refunds refunded reimburse reimbursed reembolso reembolsar reembolsado
    reembolse devolucion devolver devolvio devuelva
money: money cash dinero lana plata pasta
charge: charge charged charges cobro cobros cobrar cobrado cobraron cobra cargo cargos
twice: twice double duplicate duplicated doble duplicado duplicada
fee: fee fees commission commissions surcharge comision comisiones recargo
price: price prices pricing precio precios tarifa tarifas cost costs costo coste
increase: increase increased raise raised hike subida subio subieron aumento aumentaron
    incremento
hidden: hidden sneaky oculto ocultos oculta escondido escondida escondidas
pay: pay paid paying payment payments pagar pague pago pagos pagando
account: account cuenta
card: card cards tarjeta tarjetas
block: blocked block locked lock frozen froze unfreeze suspended suspend bloquear bloqueo
    bloqueada bloqueado bloquearon bloquea congelo congelada congelado suspendida suspendio
decline: declined decline rejected denied rechazada rechazado rechazo rechazaron rechazan
    denegada deniegan denegado
bank: bank banco
transfer: transfer transfers transferencia transferencias
balance: balance saldo
salary: paycheck salary payroll payday nomina sueldo quincena
app: app apps application aplicacion
login: login signin logon entrar acceder ingresar
crash: crash crashes crashed crashing crashea freeze freezes colgar cuelga traba
update: update updated upgrade actualizacion actualizar actualice version
password: password contrasena clave pin
code: code codes verification otp sms codigo verificacion
error: error errors bug bugs glitch fallo falla
website: website web site pagina
screen: screen pantalla
support: support soporte helpdesk
chat: chat chatbot bot
agent: agent agents human person operator agente humano persona operador
answer: answer answers reply replies respond response respuesta responder responden
    contestan contesta contestar
call: call called calling phone llamar llame llamada llamadas
complaint: complaint claim ticket case reclamacion reclamo queja incidencia
email: email emails mail correo correos
store: store stores shop shops tienda tiendas sucursal
late: late delayed delay retraso retrasado demora atrasado
damaged: damaged broken crushed dented smashed roto rota rotos danado danada abollado
    aplastado
fragile: fragile fragil
wait: wait waiting waited esperar esperando espera espero
travel: travel travelling traveling trip abroad holiday vacation viaje viajando vacaciones
    extranjero
supermarket: supermarket groceries grocery supermercado
"""
# Phrases (folded words, space separated) read as one concept before anything else.
_PHRASES = """
login: log in | log into | logging in | sign in | signing in | iniciar sesion |
    inicio de sesion
logout: logged out | logs me out | log me out | logging me out | logged me out |
    saca de la sesion | cerrar sesion | me saca
crash: force close | force closes | shuts down | shuts itself down | se cierra | se traba |
    se cuelga | se congela
support: customer service | customer care | customer support | atencion al cliente |
    servicio al cliente
twice: dos veces
missing: no aparece | ni rastro | por ningun lado | no esta
missed: missed you | missed delivery | aviso de ausente | ausente | no estaba
"""
# One pass, longest suffix first, stem kept to 4+ letters. English "-er" is left alone
# ("driver", "order"); "-ars"/"-irs" come off whole so "dollars" meets "dollar".
_SUFFIXES = tuple(
    sorted(
        _words(
            """aciones acion ciones cion siones sion amente mente imientos imiento idades idad
            ieron aron iendo ando ados adas idos idas ado ada ido ida ing ies ied ars irs ed
            es os as ar ir ly y o a e s"""
        ),
        key=len,
        reverse=True,
    )
)
_CLITIC = re.compile(r"(?<=[aei]r)(?:me|te|le|lo|la|se|nos|les|los|las)$")
_MIN_STEM = 4


def _stem(word: str) -> str:
    """Light English/Spanish suffix stripping: "entregado", "entrega" → "entreg"."""
    if len(word) <= _MIN_STEM or not word.isalpha():
        return word
    word = _CLITIC.sub("", word)
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            stem = word[: -len(suffix)]
            if suffix in ("ed", "ing") and stem[-1] == stem[-2] not in "aeioulsz":
                stem = stem[:-1]  # "shipped" → "ship"
            return stem
    return word


def _lexicon() -> tuple[dict[str, str], dict[tuple[str, ...], str]]:
    concept_of: dict[str, str] = {}
    for line in re.sub(r"\n\s+", " ", _CONCEPTS).strip().splitlines():
        name, words = line.split(":")
        for word in words.split():
            concept_of.setdefault(word, "~" + name)
            concept_of.setdefault(_stem(word), "~" + name)
    phrase_of: dict[tuple[str, ...], str] = {}
    for line in re.sub(r"\|\s*\n\s+", "| ", _PHRASES).strip().splitlines():
        name, phrases = line.split(":")
        for phrase in phrases.split("|"):
            phrase_of[tuple(phrase.split())] = "~" + name
    return concept_of, phrase_of


_CONCEPT_OF, _PHRASE_OF = _lexicon()
_PHRASE_LENGTHS = sorted({len(p) for p in _PHRASE_OF}, reverse=True)
_PHRASE_STARTS = frozenset(p[0] for p in _PHRASE_OF)


# ---------------------------------------------------------------------------------------
# Text → weighted tokens
# ---------------------------------------------------------------------------------------

_RT = re.compile(r"^(?:\s*rt\s*@user\s*:?)+", re.IGNORECASE)
_IS_REPOST = re.compile(r"^\s*rt\s+@\w", re.IGNORECASE)
_PIECE = re.compile(r"([^\W_]+(?:['_][^\W_]+)*)|([\U0001F300-\U0001FAFF\u2600-\u27BF])|[.!?;:()\"]")
_HANDLE_WORD = re.compile(r"[^\W_]+(?:_[^\W_]+)*")
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
_UNIT = re.compile(r"^\d+(?:st|nd|rd|th|am|pm|h|hr|hrs|min|mins|s|k|x)$")
_HASHTAG = re.compile(r"#(\w+)")
_LAUGH = re.compile(r"^(?:ja|je|ha|he|ji|xd)+[jh]?$")
_NEGATION_REACH = 3  # words a negator reaches over: "no me ha llegado"


def _pieces(text: str) -> list[str]:
    """Casefolded words and emoji of a post, with "." at each sentence break."""
    clean = PLACEHOLDERS.sub(" ", _RT.sub("", normalize(text))).replace("\u2019", "'")
    return [m.group(1) or m.group(2) or "." for m in _PIECE.finditer(clean.casefold())]


@dataclass(slots=True)
class Doc:
    """A distinct text: the posts that share it, its weighted tokens and how they read."""

    signature: str
    weights: dict[str, float]
    surfaces: dict[str, str]
    members: list[int]


class Analyser:
    """Turns texts into tokens, leaving out stopwords and the caller's ignored terms."""

    def __init__(self, ignore_terms: Iterable[str]) -> None:
        words = {word for term in ignore_terms for word in _HANDLE_WORD.findall(fold(term))}
        self.ignored = words | {_stem(w) for w in words}
        self._tokens: dict[str, str | None] = {}
        self._folded: dict[str, str] = {}

    def fold(self, word: str) -> str:
        """`word` without case, accents, apostrophes or stretched letters ("sooo" → "so")."""
        folded = self._folded.get(word)
        if folded is None:
            folded = _REPEATS.sub(r"\1", fold(word).replace("'", ""))
            self._folded[word] = folded
        return folded

    def token(self, word: str) -> str | None:
        """The concept or stem a folded word counts as, or None if it says nothing."""
        if word not in self._tokens:
            self._tokens[word] = self._token(word)
        return self._tokens[word]

    def _token(self, word: str) -> str | None:
        if len(word) < 2 or word in STOPWORDS or _LAUGH.match(word):
            return None
        if (word.isdigit() and len(word) < 3) or _UNIT.match(word):
            return None
        stem = _stem(word)
        if word in self.ignored or stem in self.ignored:
            return None
        return _CONCEPT_OF.get(word) or _CONCEPT_OF.get(stem) or stem

    def document(self, text: str) -> Doc:
        """Tokens (unigrams, pairs, negated forms, emoji) and signature of one text."""
        pieces = _pieces(text)
        folded = [self.fold(p) if p[0].isalnum() else p for p in pieces]
        # Copies differ in handles, links, emoji and hashtags; the signature leaves them out.
        tags = {self.fold(tag) for tag in _HASHTAG.findall(text.casefold())}
        skip = self.ignored | tags
        words = [w for w in folded if w[0].isalnum() and w not in skip]
        signature = " ".join(words) or "".join(folded)
        doc = Doc(signature, {}, {}, [])
        self._read(doc, pieces, folded)
        return doc

    def _read(self, doc: Doc, pieces: list[str], folded: list[str]) -> None:
        """Add the tokens of a text to `doc`: phrases, words, negations, pairs, emoji."""
        previous: tuple[str, str] | None = None
        negator, reach, at = -1, 0, 0
        while at < len(pieces):
            token, size = _phrase_at(folded, at) if folded[at] in _PHRASE_STARTS else (None, 1)
            if token is None:
                if pieces[at] == ".":
                    previous, reach = None, 0
                elif not pieces[at][0].isalnum():
                    _add(doc, pieces[at], pieces[at], _EMOJI)
                elif folded[at] in _NEGATORS:
                    negator, reach = at, _NEGATION_REACH
                else:
                    token = self.token(folded[at])
                    reach -= token is None
            if token is not None:
                start = negator if reach > 0 else at
                words = zip(pieces[start : at + size], folded[start : at + size], strict=True)
                surface = " ".join(p for p, f in words if p != "." and f not in self.ignored)
                token, reach = (_NEG + token if reach > 0 else token), 0
                _add(doc, token, surface, _CONCEPT if "~" in token[:2] else _UNIGRAM)
                if previous is not None and previous[0] != token:
                    _add(doc, f"{previous[0]} {token}", f"{previous[1]} {surface}", _BIGRAM)
                previous = (token, surface)
            at += size


def _phrase_at(folded: list[str], at: int) -> tuple[str | None, int]:
    for size in _PHRASE_LENGTHS:
        concept = _PHRASE_OF.get(tuple(folded[at : at + size]))
        if concept is not None:
            return concept, size
    return None, 1


def _add(doc: Doc, token: str, surface: str, weight: float) -> None:
    if token not in doc.weights:
        doc.weights[token] = weight
        doc.surfaces[token] = surface


def is_repost(text: str) -> bool:
    """Whether a post is a repost ("RT @someone ...") rather than an original."""
    return _IS_REPOST.match(text) is not None


def is_shown(token: str) -> bool:
    """Whether a token may be shown to a person (not a touchpoint, emoji or punctuation)."""
    return not token.startswith(TOUCHPOINT_PREFIX) and (token[0].isalnum() or token[0] in "~!")
