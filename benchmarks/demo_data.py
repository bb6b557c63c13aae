"""Deterministic generator of the fictional demo mentions that ``make demo`` replays.

Two made-up brands are simulated over ten days: Paquetto (parcel delivery, Spain, Mexico
and the US) and Nubento (a mobile-banking app). Volume follows local time of day with
over-dispersed noise; texts are filled from templates in English and Spanish. The file
holds one story: a failed-delivery wave for Paquetto in its last 45 minutes (the demo's
negative spike), plus a harmless, happy volume spike for Nubento on day 4.

Run ``python -m benchmarks.demo_data`` (or this file) to rewrite the bundled data; the same
seed always yields a byte-identical file.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import re
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_SEED = 25
DEFAULT_END = datetime(2026, 11, 20, 18, 0, 0, tzinfo=UTC)
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "sources" / "data" / "demo_mentions.jsonl"
DAYS = 10

# ---------------------------------------------------------------------------------------
# Volume model
# ---------------------------------------------------------------------------------------

BRANDS = ("paquetto", "nubento")
REGIONS = ("en", "es-ES", "es-MX")

# Fixed UTC offsets for mid-November (DST has ended in the US and the EU, and Mexico City
# no longer observes it), so the file does not depend on the tz database of the machine.
UTC_OFFSET_HOURS = {"en": -5, "es-ES": 1, "es-MX": -6}

# Original (non-repost) mentions per day, and where they come from.
DAILY_ORIGINALS = {"paquetto": 230.0, "nubento": 139.0}
REGION_SHARE = {
    "paquetto": {"en": 0.45, "es-ES": 0.30, "es-MX": 0.25},
    "nubento": {"en": 0.70, "es-ES": 0.15, "es-MX": 0.15},
}

# Relative activity by local hour: quiet at night, late-morning and evening peaks.
HOURLY_PROFILE = (
    0.35, 0.22, 0.15, 0.12, 0.12, 0.20, 0.42, 0.75, 1.05, 1.30, 1.45, 1.55,
    1.50, 1.35, 1.30, 1.30, 1.35, 1.45, 1.55, 1.65, 1.70, 1.60, 1.20, 0.70,
)  # fmt: skip
PROFILE_MEAN = sum(HOURLY_PROFILE) / len(HOURLY_PROFILE)

# Monday .. Sunday, in local time.
WEEKDAY_FACTOR = {
    "paquetto": (1.05, 1.05, 1.0, 1.0, 1.0, 0.88, 0.8),
    "nubento": (1.0, 1.0, 1.0, 1.0, 1.05, 0.92, 0.88),
}
HOUR_NOISE_SHAPE = 6.0  # gamma shape of the per-hour rate multiplier (gamma-Poisson)
DAY_NOISE_SHAPE = 60.0  # gamma shape of the per-day rate multiplier

TONE_WEIGHTS = (("neg", 0.20), ("neu", 0.45), ("pos", 0.35))
P_UNRELATED = {"paquetto": 0.03, "nubento": 0.01}
P_BOTH_BRANDS = 0.011
REPOST_SHARE = 0.087  # reposts per original, so that about 8% of all lines are reposts
SUPPORT_REPLY_RATE = 0.12  # share of negative posts on X that the brand answers

PLATFORM_WEIGHTS = {
    "en": (("x", 0.48), ("bluesky", 0.15), ("reddit", 0.15), ("mastodon", 0.10),
           ("rss", 0.07), ("hackernews", 0.05)),
    "es": (("x", 0.52), ("bluesky", 0.15), ("reddit", 0.15), ("mastodon", 0.10),
           ("rss", 0.08)),
}  # fmt: skip
SOCIAL = ("x", "bluesky", "mastodon")  # platforms that have reposts, replies and quotes

# The incident: a failed-delivery wave in the last 45 minutes, growing as a ramp.
INCIDENT_SPAN = timedelta(minutes=45)
INCIDENT_SIZE = 100  # on top of the ~10 ordinary Paquetto mentions of those 45 minutes
INCIDENT_RAMP_FLOOR = 0.15  # intensity at the start, relative to the slope
INCIDENT_REGIONS = (("en", 0.60), ("es-ES", 0.22), ("es-MX", 0.18))
INCIDENT_PLATFORMS = (("x", 0.62), ("bluesky", 0.16), ("mastodon", 0.08), ("reddit", 0.10),
                      ("rss", 0.04))  # fmt: skip
INCIDENT_REPOST_RATE = 0.16
INCIDENT_NEGATIVE = 0.82

# The happy spike: Nubento's "cashback 10%" campaign, 2 hours at about 3x volume.
CAMPAIGN_BEFORE_END = timedelta(days=7, hours=4)
CAMPAIGN_SPAN = timedelta(hours=2)
CAMPAIGN_EXTRA = 2.6  # extra mentions, as a multiple of the usual volume
CAMPAIGN_TONES = (("pos", 0.62), ("neu", 0.30), ("neg", 0.08))

# ---------------------------------------------------------------------------------------
# Authors
# ---------------------------------------------------------------------------------------

AUTHORS_PER_PLATFORM = {
    "x": 700, "bluesky": 220, "reddit": 240, "mastodon": 160, "rss": 110, "hackernews": 70,
}  # fmt: skip
AUTHOR_REGIONS = (("en", 0.5), ("es-ES", 0.25), ("es-MX", 0.25))
FOLLOWERS_LOGNORMAL = {"x": (5.2, 1.7), "bluesky": (4.8, 1.4), "mastodon": (4.5, 1.3),
                       "reddit": (1.8, 1.5)}  # fmt: skip
MASTODON_INSTANCES = {
    "en": ("mastodon.social", "mas.to", "hachyderm.io", "fosstodon.org", "mastodon.online"),
    "es-ES": ("mastodon.social", "masto.es", "tkz.one", "mastodon.online"),
    "es-MX": ("mastodon.social", "mstdn.mx", "mastodon.world", "masto.es"),
}
SUBREDDITS = {
    ("paquetto", "en"): ("mildlyinfuriating", "onlineshopping", "houston", "Frugal", "AskNYC"),
    ("paquetto", "es-ES"): ("spain", "askspain", "es", "Madrid"),
    ("paquetto", "es-MX"): ("mexico", "Guadalajara", "Monterrey", "MexicoFinanciero"),
    ("nubento", "en"): ("personalfinance", "fintech", "banking", "povertyfinance"),
    ("nubento", "es-ES"): ("SpainFIRE", "askspain", "spain"),
    ("nubento", "es-MX"): ("MexicoFinanciero", "mexico", "MexicoBursatil"),
}
THREAD_SLUGS = {
    "paquetto": ("package_marked_delivered_but_not_here", "which_carrier_do_you_trust",
                 "paquetos_late_again", "problemas_con_paqueterias", "courier_rant_thread"),
    "nubento": ("best_banking_app_2026", "is_a_mobile_bank_safe", "weekly_fintech_thread",
                "bancos_digitales_opiniones", "card_declined_abroad"),
}  # fmt: skip
RSS_SITES = {
    ("paquetto", "en"): ("reviews.example.com", "shippingwire.example.org",
                         "parcelwatch.example.net"),
    ("paquetto", "es"): ("opiniones.example.com", "noticias.example.org",
                         "logistica.example.net"),
    ("nubento", "en"): ("reviews.example.com", "fintechdaily.example.net",
                        "moneynews.example.org"),
    ("nubento", "es"): ("opiniones.example.com", "noticias.example.org", "finanzas.example.net"),
}  # fmt: skip

FIRST_NAMES = {
    "en": ("James", "Emily", "Michael", "Sarah", "David", "Jessica", "Chris", "Ashley",
           "Brian", "Megan", "Kevin", "Rachel", "Jason", "Lauren", "Tyler", "Hannah",
           "Brandon", "Olivia", "Marcus", "Aisha", "Jamal", "Priya", "Ethan", "Chloe",
           "Ryan", "Madison", "Derek", "Tasha", "Noah", "Grace", "Kayla", "Omar", "Lily",
           "Sean", "Nicole", "Andre", "Zoe", "Caleb", "Heather", "Devin"),
    "es-ES": ("Lucía", "María", "Carmen", "Laura", "Marta", "Paula", "Elena", "Sara", "Ana",
              "Cristina", "Alba", "Nuria", "Irene", "Raquel", "Pilar", "Javier",
              "Alejandro", "David", "Daniel", "Pablo", "Sergio", "Carlos", "Jorge", "Álvaro",
              "Adrián", "Rubén", "Iván", "Manuel", "Francisco", "Diego", "Íñigo", "Jordi",
              "Xabi", "Marc", "Nerea", "Ainhoa", "Montse", "Paco", "Rocío", "Begoña"),
    "es-MX": ("Guadalupe", "Fernanda", "Daniela", "Ximena", "Valeria", "Andrea", "Mariana",
              "Sofía", "Regina", "Itzel", "Karla", "Paola", "Brenda", "Araceli", "Yesenia",
              "José", "Juan", "Luis", "Miguel", "Alejandro", "Eduardo", "Ricardo",
              "Fernando", "Jesús", "Emiliano", "Santiago", "Arturo", "Héctor", "Rodrigo",
              "Óscar", "Toño", "Memo", "Lupita", "Chuy", "Iker", "Abril", "Renata", "Gael"),
}  # fmt: skip
LAST_NAMES = {
    "en": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
           "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson",
           "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen",
           "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
           "Campbell", "Mitchell", "Roberts", "Carter", "Evans", "Turner", "Patel",
           "Nguyen", "Kim", "Garcia", "Rivera", "O'Brien"),
    "es": ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez",
           "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno",
           "Álvarez", "Muñoz", "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres",
           "Domínguez", "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano", "Blanco", "Molina",
           "Castillo", "Ortega", "Delgado", "Flores", "Cruz", "Reyes", "Morales", "Mendoza",
           "Aguilar", "Vargas", "Ibarra", "Salazar", "Cervantes", "Zamora"),
}  # fmt: skip
NICKNAMES = ("coffee", "parcel", "mango", "pixel", "nerd", "runner", "gamer", "chef", "sunny",
             "lobo", "gato", "taco", "churro", "luna", "rayo", "moon", "vinyl", "cactus",
             "maple", "retro", "birdie", "nomad", "bookworm", "dev")  # fmt: skip
REDDIT_WORDS = (
    ("Clear", "Silly", "Brave", "Quiet", "Lucky", "Hungry", "Witty", "Calm", "Odd", "Fancy",
     "Rapid", "Gentle", "Salty", "Sleepy", "Tidy"),
    ("Investment", "Potato", "Falcon", "Kettle", "Otter", "Cabinet", "Pepper", "Lantern",
     "Badger", "Meadow", "Noodle", "Comet", "Walrus", "Cactus", "Pretzel"),
)  # fmt: skip
NAME_EMOJI = {
    "en": ("🌻", "✨", "🇺🇸", "☕", "🏳️‍🌈", "🐾", "📚", "🎧", "🏀", "🌊"),
    "es-ES": ("🌻", "✨", "🇪🇸", "☕", "🐾", "📚", "⚽", "🎸", "🌞", "🍷"),
    "es-MX": ("🌵", "✨", "🇲🇽", "☕", "🐾", "📚", "⚽", "🌮", "💃", "🌺"),
}
OFFICIAL_ACCOUNTS = {
    ("paquetto", "en"): ("PaquettoHelp", "Paquetto Support 📦", 48210),
    ("paquetto", "es-ES"): ("paquetto_es", "Paquetto España", 61544),
    ("paquetto", "es-MX"): ("paquetto_mx", "Paquetto México", 39870),
    ("nubento", "en"): ("nubento_help", "Nubento Help", 22915),
    ("nubento", "es-ES"): ("nubento_es", "Nubento en español", 9432),
    ("nubento", "es-MX"): ("nubento_es", "Nubento en español", 9432),
}
MAIN_ACCOUNT = ("paquetto", "Paquetto", 183402)

# ---------------------------------------------------------------------------------------
# Texts: brand forms and slot values
# ---------------------------------------------------------------------------------------

BRAND_FORMS = {
    "paquetto": (("Paquetto", 50), ("@paquetto", 28), ("#paquetto", 10), ("#Paquetto", 6),
                 ("paquetto", 4), ("PAQUETTO", 2)),
    "nubento": (("Nubento", 55), ("@nubento_app", 30), ("#nubento", 10), ("nubento", 3),
                ("NUBENTO", 2)),
}  # fmt: skip

SLOTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "city": ("Houston", "Dallas", "Phoenix", "Chicago", "Miami", "Atlanta", "Denver",
                 "Austin", "San Antonio", "Brooklyn", "Queens", "Newark", "Seattle",
                 "Portland", "San Diego", "LA", "Philly", "Boston", "Charlotte", "Orlando",
                 "El Paso", "Tucson", "Las Vegas", "Jersey City"),
        "item": ("my new phone", "a birthday gift", "my passport documents", "sneakers",
                 "a laptop charger", "my meds", "concert tickets", "my kid's school books",
                 "a replacement part", "a wedding present", "my contact lenses",
                 "a vintage jacket", "two pairs of jeans", "a baby monitor", "my glasses"),
        "street": ("Main St", "5th Ave", "Elm St", "Broadway", "Westheimer Rd", "Market St",
                   "Oak Ave", "Pine St", "Atlantic Ave", "Sunset Blvd"),
        "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                    "Sunday"),
        "merchant": ("the grocery store", "a gas station", "the pharmacy", "a coffee shop",
                     "the airport", "an online store", "a restaurant", "the hardware store"),
        "country": ("Mexico", "Spain", "Portugal", "Italy", "Japan", "Canada", "Colombia"),
        "name": ("Jess", "Marcus", "Priya", "Tom", "Alicia", "Kevin", "Dana", "Luis"),
        "courier": ("Mike", "Darnell", "Rosa", "Steve", "Carlos", "Ana", "Trevor"),
        "weeks": ("two", "three", "four", "six"),
        "window": ("8am-noon", "10am-2pm", "2-6pm", "4-8pm", "9am-9pm apparently"),
    },
    "es": {
        "weekday": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        "merchant": ("el súper", "una gasolinera", "la farmacia", "una cafetería",
                     "el aeropuerto", "una tienda online", "un restaurante", "la ferretería"),
        "country": ("Portugal", "Italia", "Japón", "Francia", "Colombia", "Estados Unidos",
                    "Argentina"),
        "name": ("Lucía", "Javier", "Carmen", "Andrés", "Marta", "Diego", "Paola", "Luis"),
        "weeks": ("dos", "tres", "cuatro", "seis"),
        "franja": ("9 a 13h", "10 a 14h", "15 a 19h", "16 a 20h", "todo el día"),
        "hora": ("10:15", "11:40", "13:05", "16:30", "18:20", "19:45"),
    },
    "es-ES": {
        "city": ("Madrid", "Barcelona", "Valencia", "Sevilla", "Zaragoza", "Málaga", "Bilbao",
                 "Alicante", "Murcia", "Valladolid", "Vigo", "Granada", "Córdoba", "Palma",
                 "Getafe", "Alcalá", "Móstoles", "Santander", "Oviedo", "Pamplona"),
        "item": ("mi móvil nuevo", "un regalo de cumpleaños", "unas zapatillas",
                 "el cargador del portátil", "mis medicinas", "los libros del cole",
                 "unas gafas", "un abrigo", "la freidora de aire", "unos cascos",
                 "el vestido para la boda", "unas lentillas"),
        "street": ("Calle Mayor", "Gran Vía", "Calle Alcalá", "Av. de la Constitución",
                   "Calle Colón", "Paseo de Gracia", "Calle Larios", "Av. del Puerto"),
        "iN": ("Madre mía", "En serio", "Vaya tela", "Increíble", "Qué desastre", "Joder",
               "Manda narices"),
        "iP": ("Qué maravilla", "Genial", "De lujo", "Olé", "Top", "Así da gusto"),
        "courier": ("Manolo", "Jorge", "Paco", "Rubén", "Iván", "Rocío", "Mari"),
        "payrail": ("Bizum",),
        "phone": ("el móvil", "mi móvil"),
    },
    "es-MX": {
        "city": ("CDMX", "Guadalajara", "Monterrey", "Puebla", "Querétaro", "Tijuana",
                 "Mérida", "León", "Toluca", "Zapopan", "Cancún", "Aguascalientes",
                 "Morelia", "Saltillo", "Hermosillo"),
        "item": ("mi celular nuevo", "un regalo de cumpleaños", "unos tenis",
                 "el cargador de la laptop", "mis medicinas", "los libros de la escuela",
                 "unos lentes", "una chamarra", "la freidora de aire", "unos audífonos",
                 "el vestido para la boda", "unos pupilentes"),
        "street": ("Av. Reforma", "Av. Insurgentes", "Av. Vallarta", "Calle Madero",
                   "Av. Juárez", "Av. Universidad", "Av. Chapultepec", "Calzada Independencia"),
        "iN": ("No manches", "Neta", "Qué poca", "Ya en serio", "Qué coraje", "Ay no",
               "Qué oso"),
        "iP": ("Qué chido", "Está padrísimo", "De pelos", "Qué padre", "Súper", "Chingón"),
        "courier": ("Toño", "Jorge", "Memo", "Lupita", "Chuy", "Beto", "Rosy"),
        "payrail": ("SPEI", "CoDi"),
        "phone": ("el celular", "mi cel"),
    },
    "any": {
        "en": ("😡", "🤬", "😤", "🙄", "😒", "💀", "😩", "😭", "🤡", "", "", ""),
        "ep": ("🙌", "😍", "❤️", "🤩", "👏", "😊", "✨", "💯", "🥳", "", "", ""),
        "device": ("iPhone 13", "iPhone 15", "Pixel 8", "Galaxy S22", "Galaxy A54",
                   "Redmi Note 12", "Moto G"),
        "club": ("Racing Almenara", "Deportivo Valdemar", "AC Trevalle", "Unione Brera",
                 "Real Montalbán"),
    },
}  # fmt: skip

# During the incident, places are those of the three affected depots.
INCIDENT_CITIES = {
    "en": ("Houston", "Katy", "Sugar Land", "Pasadena", "Pearland", "the Heights"),
    "es-ES": ("Madrid", "Getafe", "Leganés", "Alcorcón", "Móstoles", "Vallecas"),
    "es-MX": ("Guadalajara", "Zapopan", "Tlaquepaque", "Tonalá", "Tlajomulco"),
}
INCIDENT_DEPOT = {"en": "Houston", "es-ES": "Madrid", "es-MX": "Guadalajara"}

HASHTAGS = {
    ("paquetto", "en"): ("#shipping", "#customerservice", "#fail", "#delivery", "#holidays",
                         "#smallbusiness", "#rant", "#PSA", "#ecommerce"),
    ("paquetto", "es"): ("#envíos", "#atenciónalcliente", "#paquetería", "#quejas", "#navidad",
                         "#consumo", "#ecommerce", "#PSA"),
    ("nubento", "en"): ("#fintech", "#banking", "#personalfinance", "#budgeting", "#rant",
                        "#PSA", "#money"),
    ("nubento", "es"): ("#banca", "#fintech", "#finanzas", "#consumo", "#ahorro"),
}  # fmt: skip
POST_EMOJI = {
    "neg": ("😡", "🤬", "🙄", "😤", "😩", "💀", "🤦", "👎", "😒"),
    "neu": ("🤔", "📦", "👀", "🤷", "🧐", "📱"),
    "pos": ("🙌", "😍", "❤️", "🤩", "👏", "😊", "✨", "💯", "🥳", "👍"),
}
ES_SLANG = ((r"\bque\b", "q"), (r"\bporque\b", "xq"), (r"\bpor qué\b", "xq"),
            (r"\btambién\b", "tmb"), (r"\bpor favor\b", "porfa"), (r"\bde verdad\b", "de vdd"),
            (r"\bpara\b", "pa"), (r"\bmuy\b", "mui"))  # fmt: skip
EN_SLANG = (
    (r"\byou\b", "u"),
    (r"\bplease\b", "pls"),
    (r"\bthough\b", "tho"),
    (r"\bbecause\b", "bc"),
    (r"\bto be honest\b", "tbh"),
    (r"\breally\b", "rly"),
)
# Openers and closers people wrap around what they say, by (language, tone).
OPENERS = {
    ("en", "neg"): ("Ugh,", "Seriously,", "Not again.", "Welp.", "Honestly,", "So", "Update:",
                    "Day 3 of this:", "Third time asking:"),
    ("en", "neu"): ("Quick question:", "Random q:", "Hey all,", "Genuine question:", "FYI",
                    "Curious:", "So", "Noob question:"),
    ("en", "pos"): ("Honestly,", "Not gonna lie,", "Shoutout:", "Ok,", "Small win:", "Wow.",
                    "Credit where it's due:", "Plot twist:"),
    ("es", "neg"): ("Uf.", "En serio,", "Otra vez.", "Lo de siempre.", "A ver,", "Hilo:",
                    "Buenas,", "Tercer día:"),
    ("es", "neu"): ("Pregunta:", "Duda rápida:", "Hola,", "Una pregunta:", "Por curiosidad,",
                    "Buenas,", "Consulta:"),
    ("es", "pos"): ("La verdad,", "Hay que decirlo:", "Bueno,", "Pues", "Sorpresa:",
                    "Lo tengo que contar:"),
}  # fmt: skip
CLOSERS = {
    ("en", "neg"): ("smh", "!!", "…", "unreal", "again.", "every. single. time."),
    ("en", "neu"): ("🙏", "…", "👀", "fyi", "anyway", "just curious"),
    ("en", "pos"): ("!!", "tbh", "10/10", "no complaints", "highly recommend", "well done"),
    ("es", "neg"): ("en fin", "…", "!!", "qué cansancio", "como siempre", "vaya tela"),
    ("es", "neu"): ("🙏", "…", "👀", "ya veremos", "por si acaso"),
    ("es", "pos"): ("!!", "10/10", "jaja", "sin quejas", "recomendado", "bien hecho"),
}  # fmt: skip
REDDIT_TAILS = {
    "en": ("Posting here because support isn't answering.", "Has anyone else had this?",
           "Edit: thanks for the replies, everyone.", "Any advice appreciated.",
           "Curious what others think.", "Sorry for the rant.", "Update in comments."),
    "es": ("Lo pongo aquí porque atención al cliente no contesta.", "¿Os ha pasado?",
           "Edit: gracias por las respuestas.", "¿Algún consejo?", "Perdón por el rollo.",
           "¿Les ha pasado algo parecido?", "Actualizo en los comentarios."),
}  # fmt: skip
RSS_STARS = {"neg": ("★☆☆☆☆", "★★☆☆☆"), "neu": ("★★★☆☆",), "pos": ("★★★★☆", "★★★★★")}

# ---------------------------------------------------------------------------------------
# Texts: templates, by (brand, language, tone). {b} is the brand, other slots see SLOTS.
# ---------------------------------------------------------------------------------------

PAQUETTO_EN_NEG = (
    "{b} lost my package AGAIN. {days} days of 'in transit' and nobody knows where it is {en}",
    "Worst delivery experience ever. {b} says 'attempted delivery' at {clock}, I was home",
    "Ordered {item} on {weekday}, still nothing. Thanks for nothing {b}",
    "The {b} driver literally threw my box over the fence. It's broken. Great job 🙄",
    "Been on hold with {b} customer service for {mins} minutes. This is ridiculous",
    "{b} support chat is useless. Same copy-paste answer {n} times {en}",
    "Frustrating: still waiting on my refund from {b} for a parcel that never showed up",
    "Paid extra for next-day with {b} and it took {days} days. Total waste of money",
    "Absolute scam: {b} charged me a 'redelivery fee' for a delivery they never attempted",
    "Why does the {b} app log me out every time I try to track a package? So frustrating",
    "The {b} tracking page has said 'label created' for {days} days. Is my parcel even real?",
    "Rude courier from {b} today in {city}, yelled at my mom for taking a minute to open up",
    "Package arrived crushed and soaking wet. {b} you had one job {en}",
    "{b} prices went up again and the service keeps getting worse. Disappointed.",
    "Went to the {b} store on {street} to pick up my parcel, waited {mins} min, they lost it",
    "Hey {b}, my package {order} has been 'out for delivery' since {weekday}. Any update??",
    "I hate that {b} is the only carrier this shop uses. Every time it's {days} days late",
    "{b} app crashed mid-payment and now I've been charged twice. Awesome. 🤡",
    "Third missed delivery this month. {b} is pathetic in {city}",
    "Terrible. {b} left {item} at the wrong address and refuses to investigate",
    "Anyone else's {b} parcel stuck in the {city} depot? Mine hasn't moved in {days} days",
    "honestly {b} has gotten so bad lately. late, damaged, or missing. pick one",
    "{b} 'delivery window 9-5' means nothing apparently. took the day off for this {en}",
    "Refund request for {order} rejected by {b} with zero explanation. Angry doesn't cover it",
    "The {b} website won't accept my address because it has an apartment number. In 2026.",
    "Sorry {b}, but 'high volumes' is not an excuse for {days} days of silence",
    "{item} arrived broken. {b} says it's the seller's problem, seller blames {b}. Fun.",
    "Customer service at {b} hung up on me after {mins} minutes on hold. So rude.",
    "{b} hidden fees are ridiculous: 'fuel surcharge', 'residential fee', 'handling fee'...",
    "never ordering anything shipped by {b} again. never.",
    "@{friend} don't use {b} for the gift, mine showed up {days} days late and dented",
    "{b} driver left my parcel in the rain on the porch. Soaked cardboard, ruined {item}",
    "So {b} just returned {order} to sender without even trying to deliver. Awful.",
    "The {b} claims form keeps erroring out when I upload photos. Useless website",
    "My {b} tracking went from {city} to the wrong state and back. Lost in the system 😩",
    "Paying {fee} for {b} 'express' was a waste of money",
    "{b} why is your tracking API returning 500s all morning? our shop can't print labels",
    "Our small business ships with {b} and three customers complained this week. Not great",
    "{b} redelivery slots are all full for {days} days. So I just... don't get my stuff?",
    "Terrible support from {b}: a supervisor would call me back, they said. {days} days ago 👎",
)
PAQUETTO_EN_NEU = (
    "Does {b} deliver on Sundays in {city}?",
    "How long does {b} usually take from {city} to {city2}?",
    "Anyone know if {b} lets you change the delivery address after it ships? Order {order}",
    "{b} is opening a new sorting hub near {city}, per local news {url}",
    "Got a {b} notification: parcel {order} out for delivery, ETA {clock}",
    "Is the {b} pickup point on {street} open late?",
    "{b} vs the post office for small parcels to {country}? What do you all use",
    "My package is with {b} now, tracking says {city} hub.",
    "{b} app {version} adds a new tracking map. Haven't tried it yet",
    "Q&A: how do I file a claim with {b} for a damaged box? Asking for a friend",
    "Question for {b}: can someone else sign for my package on {weekday}?",
    "Shipping label for {item} says {b}. First time using them, we'll see 👀",
    "{b} announced holiday shipping cutoff dates for the US {url}",
    "Reminder: {b} drop-off on {street} closes at {clock} on {weekday}s",
    "Waiting on a {b} delivery today. Window {window}.",
    "TIL {b} started as a small courier company in Valencia with {n} vans",
    "what does 'exception' mean on {b} tracking for {order}? never seen that one",
    "{b} driver just dropped off {n} boxes next door",
    "Shipping quote for a 2 lb box: {b} {fee}. Is that normal?",
    "is {b} the same company that used to deliver for the pharmacy here in {city}?",
    "{b} is hiring seasonal drivers in {city} -> {url}",
    "Looking for the {b} customer service phone number, the website only shows a chat",
    "My {b} parcel has visited {n} cities this week. More than I have all year 😂",
    "{b} tracking: 'your parcel is on its way'. Me: refreshing it like a sports score",
    "@{friend} your package is coming with {b}, tracking says {weekday}",
    "Checkout -> {b} -> my door in {city}. Let's see how long it takes this time",
    "Does {b} do lockers in {city} or only pickup points?",
    "Trying the {b} returns drop-off on {street} for the first time. Any tips?",
    "Anyone using the {b} API for a small e-commerce store? How's the rate limiting?",
    "{b} publishes delivery times report for Q3 {url}",
)
PAQUETTO_EN_POS = (
    "Shoutout to the {b} driver in {city} who waited while I ran downstairs. Legend {ep}",
    "{b} delivered {item} a day early! Great service {ep}",
    "Honestly impressed with {b}, package arrived in {hours} hours across town",
    "{b} support sorted my issue in {n} minutes. Thank you!",
    "Got my {amount} refund from {b} super fast, no drama. Appreciate it",
    "The new {b} app tracking map is actually really nice <3",
    "Love that {b} lets you pick a pickup locker in {city}. So convenient",
    "{b} courier left a note + photo of where he put the box. Amazing {ep}",
    "{b} > every other carrier I've used this year. Fast and cheap {ep}",
    "{item} arrived perfectly packed. thanks {b} 🙌",
    "Kudos to {b} customer care, {name} was super helpful and kind",
    "Cheaper than I expected: {b} {fee} for a medium box, not bad at all",
    "{b} store staff on {street} are always friendly, best pickup point in {city}",
    "Parcel tracking with {b} is so smooth, real-time updates all the way from {city}",
    "Okay {b}, you won me over. {n} deliveries this month, all on time",
    "Best delivery guy ever works for {b} in {city}. Give {courier} a raise!",
    "delivery time < 24h from {city} to {city2}?? {b} is cooking fr",
    "{b} redelivered the very next morning. Excellent service {ep}",
    "{n} orders in and happy with {b} so far, easy returns and free pickup",
    "{b} driver brought a treat for my dog?? 10/10 would get parcels again 🐶",
    "Returned {item} through {b} and the refund hit my account the same day. Nice",
    "The {b} chat agent ({name}) actually read my message and fixed it. Wonderful",
    "Our shop switched to {b} last month and customer complaints dropped a lot. Good call",
    "Fragile box arrived in perfect shape. Well done {b} {ep}",
)
PAQUETTO_ES_NEG = (
    "{b} me ha perdido el paquete otra vez. {days} días 'en tránsito' y nadie sabe nada {en}",
    "El repartidor de {b} dice que no había nadie en casa. ESTABA EN CASA. {iN}",
    "Llevo {mins} minutos esperando a que me atiendan en {b}. Qué vergüenza de servicio",
    "{b} me cobró dos veces el envío ({fee}) y todavía no me devuelven el dinero {en}",
    "pedí {item} el {weekday} y todavía nada. gracias por nada {b}",
    "La app de {b} no carga el seguimiento, se queda en blanco {en}",
    "{iN}, {b} dejó mi paquete en la dirección equivocada y ahora no aparece",
    "Paquete {order} lleva {days} días en el centro de {city}. {b} respondan por favor",
    "La atención al cliente de {b} es pésima, te cuelgan sin resolver nada",
    "Mi caja llegó rota y mojada. {b} dice que es culpa de la tienda. Fatal.",
    "¿Por qué {b} cobra 'gastos de gestión' si ya pagué el envío? Cobros ocultos por todos lados",
    "El repartidor de {b} fue muy grosero con mi abuela. Inaceptable {en}",
    "Tercera vez que {b} no viene en la franja que elegí ({franja}). Estoy harta",
    "devolución solicitada hace {days} días y {b} sin reembolsar. qué poca seriedad",
    "Fui a la tienda de {b} en {street} y estaba cerrada en horario de apertura {en}",
    "{b} subió precios y el servicio cada vez peor. Decepcionado.",
    "ya no sé por qué sigo comprando en tiendas que envían con {b} {en}",
    "Nunca más {b}. Nunca.",
    "{b} marca 'intento de entrega' a las {hora} pero nadie tocó el timbre. Mentira.",
    "La web de {b} no acepta mi código postal. ¿En serio?",
    "El seguimiento de {b} dice 'en reparto' desde el {weekday}. ¿Dónde está mi paquete?",
    "{b} perdió {item}. No es un juego, lo necesitaba para el {weekday} {en}",
    "Reclamación {order} cerrada sin respuesta. Gracias {b}, muy útil 🙄",
    "Peor paquetería del país: {b}. Y lo digo con conocimiento de causa",
    "el chat de {b} es un bot que no entiende nada. quiero hablar con una persona",
    "{b} me dejó un aviso de 'ausente' en la puerta... con el timbre funcionando {en}",
    "@{friend} no uses {b} para el regalo, el mío llegó {days} días tarde y abollado",
    "Pagué {fee} por envío urgente con {b} y tardó {days} días. Que me devuelvan el dinero",
    "{iN}. {b} devolvió mi paquete al remitente sin intentar entregarlo",
    "El repartidor de {b} dejó la caja tirada en la calle. Menos mal que la vio un vecino",
    "Llamé a {b} {n} veces y cada vez me dicen una cosa distinta {en}",
    "La app de {b} me pide actualizar y después se cierra sola. Imposible rastrear nada",
    "Tengo una tienda online y {b} nos está dando muchos problemas esta semana",
)
PAQUETTO_ES_NEU = (
    "¿{b} reparte los sábados en {city}?",
    "¿Alguien sabe cuánto tarda {b} de {city} a {city2}?",
    "¿Se puede cambiar la dirección de entrega en {b} una vez enviado? Pedido {order}",
    "{b} abrirá un nuevo centro logístico cerca de {city} {url}",
    "Mi paquete ya está con {b}, dice que sale de {city}",
    "¿A qué hora cierra el punto {b} de {street}?",
    "Q&A de {b} sobre envíos internacionales, por si a alguien le sirve: {url}",
    "Esperando un envío de {b} hoy, franja de {franja}",
    "¿Qué significa 'incidencia en destino' en el seguimiento de {b}? Pedido {order}",
    "{b} busca repartidores para la campaña de Navidad en {city}",
    "primera vez que recibo algo por {b}, a ver qué tal {ep}",
    "¿El número de atención al cliente de {b} es gratuito?",
    "{b} actualiza su app (versión {version}) con mapa de seguimiento en tiempo real",
    "Presupuesto de envío para una caja mediana: {b} {fee}. ¿Es normal?",
    "el repartidor de {b} acaba de dejar {n} cajas en el portal de al lado",
    "¿{b} tiene taquillas en {city}? Me vendría genial",
    "Dato: {b} empezó como mensajería local en Valencia -> ahora está en 3 países",
    "Compra hecha -> {b} -> mi casa en {city}. Veremos cuánto tarda 👀",
    "¿Alguien ha usado {b} para mandar algo a {country}?",
    "Aviso: {b} no reparte el {weekday} por festivo local en {city}",
    "Mi paquete de {b} ha pasado por {n} ciudades. Ha viajado más que yo este año 😂",
    "@{friend} tu paquete viene con {b}, dice que llega el {weekday}",
    "¿Alguien sabe si {b} recoge devoluciones a domicilio en {city}?",
    "{b} publica sus tiempos medios de entrega del trimestre {url}",
    "¿Con {b} se puede pagar contra reembolso en {city}?",
)
PAQUETTO_ES_POS = (
    "El repartidor de {b} en {city} es un sol, siempre con una sonrisa {ep}",
    "{b} me entregó un día antes de lo previsto. {iP}",
    "Reembolso de {amount} de {b} en 24h, sin complicaciones. Así sí.",
    "Muy contenta con {b}, el paquete llegó perfecto a {city} y bien embalado",
    "La atención al cliente de {b} me resolvió todo en 5 minutos. ¡Gracias {name}!",
    "{b} es la mejor paquetería que he usado este año, rápida y barata {ep}",
    "Me encanta la nueva app de {b}, el mapa de seguimiento está muy bien <3",
    "Recogí mi paquete en la tienda {b} de {street} en 2 minutos. Perfecto",
    "{iP}, {b} llegó en {hours} horas. Esto es otro nivel",
    "Gracias {b} (y a {courier}) por dejar la foto de dónde dejaron la caja 🙌",
    "Precio justo y entrega rápida, {b} cumple {ep}",
    "Hay que decirlo también cuando las cosas van bien: {b} 10/10",
    "{courier} de {b} merece un aumento, el mejor repartidor de {city}",
    "Devolución con {b} facilísima, pasaron a recogerla a casa el {weekday}",
    "{b} no me ha fallado ni una vez, {n} envíos este mes y todos a tiempo",
    "{b} > el resto de paqueterías, sin discusión {ep}",
    "Qué bien funciona el seguimiento de {b}, te avisa de todo {ep}",
    "{item} llegó impecable. gracias {b} ✨",
    "Caja frágil y ni un rasguño. Bien hecho {b} {ep}",
    "Mi tienda online trabaja con {b} desde hace {n} meses y los clientes encantados",
)
NUBENTO_EN_NEG = (
    "{b} app crashed again on my {device} right when I needed to pay rent {en}",
    "Can't log in to {b} for the {nth} time this week. Face ID just spins forever",
    "{b} blocked my card at {merchant} with zero warning. Embarrassing and infuriating",
    "Transfer to my landlord stuck 'pending' for {days} days. {b} support is useless",
    "{b} charged me a {fee} 'inactivity fee'. Since when?? Hidden fees much",
    "Worst banking app update ever. {b} {version} broke the transactions list",
    "Waiting {days} days for a refund of a disputed charge. {b} keeps saying 'under review'",
    "{b} froze my account for 'security reasons' and no one can tell me why. Terrible.",
    "The {b} chatbot is a nightmare. Just let me talk to a human. Awful",
    "Really disappointed with {b}. Used to be great, now it's fees fees fees",
    "{b} verification codes never arrive. Locked out of my own money, this is awful {en}",
    "Why did {b} decline my card abroad after I literally set a travel notice? So annoying",
    "My paycheck still isn't showing in {b}. Everyone else at work got paid hours ago",
    "{b} app logged me out and now wants a selfie verification that keeps failing {en}",
    "Exchange rate on {b} in {country} is awful compared to what they advertise",
    "Ugh, {b} down again? {nth} time this week. Can't see my balance",
    "Support told me 24-48h. It's been {days} days. {b} please",
    "I hate that {b} removed the free ATM withdrawals without telling anyone",
    "{b} app drains my battery like crazy since the last update. Annoying",
    "Got charged twice at {merchant}. {b} says wait for it to 'settle'. angry",
    "Closing my {b} account. Too many outages, too little support",
    "the {b} app is so slow on my {device} it's basically useless",
    "{b} customer support closed my ticket without fixing anything. Wow.",
    "Lost access to {b} after changing phones. Recovery process is broken",
    "Hey {b}, my savings pot shows $0 since this morning. Should I be worried?",
    "{b} notification says payment declined, merchant says it went through. Which is it?",
    "{days} days trying to update my address in {b}. The form just errors out",
    "@{friend} don't move your paycheck to {b} yet, mine was late twice this month",
    "{b} card declined at {merchant} with money in the account. So embarrassing {en}",
    "Spent {mins} minutes in the {b} chat queue to be told to reinstall the app. Useless",
    "Paid a {fee} fee on {b} for an 'instant' transfer that took a day. Not ok",
    "{b} login loop on {device}: password, code, back to password. Broken",
)
NUBENTO_EN_NEU = (
    "Does {b} support joint accounts yet?",
    "Thinking about switching to {b} after {n} years at my bank. Thoughts on their fees?",
    "How long do international transfers take with {b}? Sending money to {country}",
    "{b} just announced a new savings feature {url}",
    "Is {b} FDIC insured directly or through a partner bank?",
    "Q&A with the {b} CEO about their roadmap, interesting read {url}",
    "{b} {version} release notes: new dark mode and bug fixes",
    "Anyone know the daily ATM limit on {b}? Going to {country} next week",
    "Moved {amount} of my emergency fund to {b} savings pots. We'll see how it goes",
    "{b} reportedly raising a new funding round {url}",
    "Can I use {b} virtual cards for subscriptions?",
    "What's the {b} customer support number? The app only shows chat",
    "{b} is hiring backend engineers -> {url}",
    "Does {b} work with the {device} wallet?",
    "Just opened a {b} account. Verification took {mins} minutes",
    "Bank fees, let a = {b} and b = my old bank. a < b, mostly. Still checking the small print",
    "PSA: {b} maintenance tonight from 1-3am ET",
    "Is the {b} referral bonus still a thing? It was {amount} last year",
    "{b} spending insights say I spent {amount} on coffee this month. No comment.",
    "How does {b} make money with no monthly fees? genuine question",
    "{b} now available in {n} more states, per their blog {url}",
    "My {b} savings pot has more discipline than I do",
    "@{friend} you asked about {b}: I've had it {n} months, will tell you more later",
    "Has anyone used {b} to receive money from {country}?",
    "{b} engineering blog on their move to event sourcing {url}",
    "Which is better for a teen's first card, {b} or a credit union?",
    "Interesting thread on how {b} handles fraud detection {url}",
)
NUBENTO_EN_POS = (
    "{b} instant transfers are a game changer. Paid my friend back in 2 seconds {ep}",
    "Love the {b} spending insights, finally understand where my money goes",
    "{b} support fixed my card issue in {n} minutes. Great experience!",
    "No fees, clean app, fast transfers. {b} is the best bank I've had",
    "The {b} savings pots helped me save {amount} this year. Proud of myself {ep}",
    "Switched to {b} {n} months ago and never looked back",
    "{b} refunded the duplicate charge before I even asked. Impressive",
    "Dark mode in {b} on my {device} <3",
    "Virtual cards on {b} for every subscription = peace of mind. Love it",
    "got paid on {weekday} with {b}, 2 days early again 🙌",
    "{b} app is so smooth on my {device}, great job team",
    "Honestly {b} customer service is excellent, {name} was super helpful",
    "Traveling in {country} and the {b} card works perfectly, great exchange rate",
    "Thanks {b} for the instant fraud alert, saved me {amount}",
    "Recommended {b} to my parents and even they love it",
    "The {b} round-ups feature is genius. Painless saving",
    "{b} > my old bank, not even close",
    "Opening a {b} account took {n} minutes. Amazing",
    "{b} {version} fixed the login bug, thank you devs {ep}",
    "Split the dinner bill with {n} friends in the {b} app in seconds. So easy",
    "The {b} budget alerts actually made me spend less this month. Nice",
)
NUBENTO_ES_NEG = (
    "La app de {b} se cierra sola cada vez que intento hacer una transferencia {en}",
    "No puedo entrar en {b}, el código de verificación no llega a {phone}",
    "{b} me bloqueó la tarjeta en {merchant} sin avisar. Qué vergüenza pasé",
    "Transferencia pendiente desde hace {days} días. {b} no responde {en}",
    "{b} me cobró una comisión de {fee} que nadie me explicó. Comisiones ocultas.",
    "El soporte de {b} es un chatbot inútil",
    "Llevo {days} días esperando el reembolso de un cargo duplicado. {b} nada",
    "{iN}, {b} caído otra vez y necesito pagar",
    "Me cerraron la cuenta de {b} sin explicación. Fatal servicio",
    "¿por qué {b} me pide verificar identidad cada semana?? ya basta",
    "La última actualización de {b} es horrible, no encuentro nada",
    "{b} rechazó mi pago en el extranjero aunque avisé del viaje {en}",
    "mi nómina no aparece en {b} y a todos mis compañeros ya les llegó",
    "Decepcionada con {b}, antes era genial y ahora todo son comisiones",
    "El tipo de cambio de {b} es malísimo, no es lo que anuncian",
    "{b} no me deja cambiar de móvil sin llamar a soporte, y soporte no contesta",
    "cobro duplicado en {merchant} y {b} dice que espere. esperando desde el {weekday}",
    "Me voy de {b} después de {n} años. Demasiados fallos.",
    "@{friend} no te pases a {b} todavía, a mí me bloquearon la cuenta {n} días",
    "La app de {b} va lentísima en mi {device}, imposible usarla {en}",
    "Tarjeta de {b} rechazada en {merchant} con saldo en la cuenta. Qué oso",
    "{b} dice 'transferencia inmediata' y la mía tardó {days} días",
)
NUBENTO_ES_NEU = (
    "¿{b} tiene cuentas conjuntas?",
    "¿Alguien en {city} usa {b}? ¿Qué tal las comisiones?",
    "{b} anuncia nuevas funciones de ahorro {url}",
    "¿Cuánto tardan las transferencias internacionales con {b}? Tengo que mandar a {country}",
    "¿{b} funciona con {payrail}?",
    "Acabo de abrir cuenta en {b}, la verificación tardó {mins} minutos",
    "Mantenimiento programado de {b} esta noche de 1 a 3h",
    "¿Cuál es el límite diario de cajero en {b}? Me voy a {country} la semana que viene",
    "Q&A sobre {b} y seguridad, hilo 🧵 {url}",
    "¿Las tarjetas virtuales de {b} sirven para suscripciones?",
    "Según el resumen de {b} me gasté {amount} en cafés este mes. Sin comentarios.",
    "{b} contrata ingenieros en {city} -> {url}",
    "¿Alguien sabe si {b} cobra por sacar en cajero en {country}?",
    "Mi bote de ahorro de {b} tiene más disciplina que yo",
    "@{friend} me preguntaste por {b}: llevo {n} meses, luego te cuento bien",
    "¿{b} sirve para recibir dinero de {country}?",
    "{b} lanza la versión {version} de su app {url}",
)
NUBENTO_ES_POS = (
    "Las transferencias inmediatas de {b} son una maravilla {ep}",
    "{b} me resolvió el problema de la tarjeta en {n} minutos. ¡Gracias!",
    "Sin comisiones y la app va genial. {b} la mejor",
    "Con los botes de ahorro de {b} ahorré {amount} este año {ep}",
    "Me cambié a {b} hace {n} meses y encantada",
    "Me encanta el modo oscuro de {b} en mi {device} <3",
    "{iP}, {b} me devolvió el cargo duplicado antes de que lo pidiera",
    "Viajando por {country} y la tarjeta {b} funciona perfecto",
    "{b} > mi banco de toda la vida",
    "Abrir cuenta en {b} me llevó {n} minutos. Increíble",
    "La atención al cliente de {b} es excelente, {name} súper amable",
    "Gracias {b} por el aviso de fraude, me salvaste {amount}",
    "Pagar a medias la cena con {b} es facilísimo {ep}",
    "Las alertas de presupuesto de {b} me ayudan un montón",
)
TEMPLATES: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("paquetto", "en", "neg"): PAQUETTO_EN_NEG,
    ("paquetto", "en", "neu"): PAQUETTO_EN_NEU,
    ("paquetto", "en", "pos"): PAQUETTO_EN_POS,
    ("paquetto", "es", "neg"): PAQUETTO_ES_NEG,
    ("paquetto", "es", "neu"): PAQUETTO_ES_NEU,
    ("paquetto", "es", "pos"): PAQUETTO_ES_POS,
    ("nubento", "en", "neg"): NUBENTO_EN_NEG,
    ("nubento", "en", "neu"): NUBENTO_EN_NEU,
    ("nubento", "en", "pos"): NUBENTO_EN_POS,
    ("nubento", "es", "neg"): NUBENTO_ES_NEG,
    ("nubento", "es", "neu"): NUBENTO_ES_NEU,
    ("nubento", "es", "pos"): NUBENTO_ES_POS,
}

# Posts that name both brands ({pb} Paquetto, {nb} Nubento).
BOTH_BRANDS = {
    "en": (
        "Paid my {pb} redelivery fee with {nb}, instant notification. At least one works",
        "{nb} refunded my card faster than {pb} delivered the parcel lol",
        "{pb} delivery fee showed up twice on my {nb} statement?",
        "Shoutout to {nb} for the instant alert when {pb} charged me. Both great today tbh",
        "{pb} and {nb} in the same week, both excellent. Rare W",
        "Disputed a {pb} charge through {nb} and it was sorted in a day. Nice",
    ),
    "es": (
        "Pagué el envío de {pb} con {nb} y me cobraron dos veces. ¿De quién es la culpa?",
        "{nb} me avisó del cargo de {pb} al instante. Eso sí que es rápido",
        "Reclamé un cobro de {pb} desde la app de {nb} y en un día resuelto",
        "{pb} y {nb} esta semana, los dos de diez. No siempre pasa",
    ),
}
# Same word, unrelated sense: a footballer and a village. Users exclude these.
UNRELATED = {
    ("paquetto", "en"): (
        "Luca Paquetto scores again! {club} up 2-0 ⚽",
        "What a goal by Luca Paquetto in the {minute}th minute",
        "Luca Paquetto signs a contract extension with {club} until 2029",
        "Luca Paquetto injury update: out for {weeks} weeks, per {club}",
        "Fantasy tip: captain Luca Paquetto this week, he's on fire",
        "Luca Paquetto has {n} goals in his last {n2} games. Unreal form",
    ),
    ("paquetto", "es"): (
        "Golazo de Luca Paquetto en el minuto {minute} ⚽",
        "Luca Paquetto renueva con el {club} hasta 2029",
        "Luca Paquetto, baja {weeks} semanas por lesión",
        "Qué partidazo de Luca Paquetto hoy con el {club}",
        "El {club} no se entiende sin Luca Paquetto. Crack",
    ),
    ("nubento", "en"): (
        "Nubento, a tiny village in León, Spain, looks like a postcard in autumn",
        "Cycling from Astorga to Nubento (León) today, {n}0 km of pure quiet",
        "{n} days in Nubento, León: one bar, zero phone signal, perfect",
    ),
    ("nubento", "es"): (
        "Fiestas de Nubento (León) este fin de semana, ¿quién se apunta?",
        "Ruta en bici de Astorga a Nubento, León. {n}0 km preciosos",
        "Mercadillo en Nubento (León) el {weekday}. Empanadas y cecina, no digo más",
    ),
}
CAMPAIGN = {
    ("en", "pos"): (
        "{b} cashback 10% on everything this week?? Signing up right now, love it 🙌",
        "Just got my first 10% cashback from {b}. This is real lol",
        "{b} cashback 10% is amazing, already got {amount} back",
        "Okay the {b} 10% cashback campaign is genius. Everyone at work is talking about it",
        "Is the {b} cashback 10% legit? Friends say yes, I'm in {ep}",
        "{b} 10% cashback + zero fees. Best bank deal of the year",
        "Using {b} for groceries today just for the cashback 10% 😂",
        "My whole group chat switched to {b} for the 10% cashback. Love it",
        "Nubento cashback 10% hit my account in seconds. Wow {ep}",
    ),
    ("en", "neu"): (
        "How does the {b} cashback 10% work? Is there a cap?",
        "{b} launches 10% cashback campaign for new and existing users {url}",
        "Reading the fine print on the {b} cashback 10%... capped at {amount} a month",
        "{b} cashback 10% is trending. What's the catch?",
        "Does the {b} 10% cashback apply to online purchases too?",
    ),
    ("en", "neg"): (
        "Signed up for the {b} 10% cashback and the app crashed. Of course",
        "{b} cashback 10% but not on my card type?? Disappointed",
    ),
    ("es", "pos"): (
        "¡{b} cashback 10% en todas las compras! Me apunto ya {ep}",
        "Primer cashback del 10% de {b} recibido. Funciona de verdad",
        "Lo del cashback 10% de {b} es una pasada",
        "Todos en la oficina hablando del cashback 10% de {b} jaja",
    ),
    ("es", "neu"): (
        "¿Cómo funciona el cashback 10% de {b}? ¿Tiene límite?",
        "{b} lanza una campaña de cashback del 10% {url}",
    ),
    ("es", "neg"): ("Me registré por el cashback 10% de {b} y la app no me deja entrar. Genial.",),
}
INCIDENT = {
    ("en", "neg"): (
        "{b} marked my parcel as delivered but it never arrived. What a mess {en}",
        "Tracking says DELIVERED. There is no package. {b} what is going on?? Ridiculous",
        "{b} courier didn't show up and the app says delivered. This is a scam",
        "Anyone else getting 'delivered' from {b} with no parcel?? {city} here, furious",
        "Furious 😡 my {b} package was 'delivered' 20 minutes ago and my doorstep is empty",
        "{b} {depot} depot is a disaster today. Fake 'delivered' scans everywhere",
        "TWO parcels marked delivered by {b}, both missing. Worst service ever",
        "{b} support line is busy, chat is down, parcel 'delivered' to nobody. Terrible",
        "Is {b} broken?? Everyone in my building got 'delivered' notifications and no boxes",
        "Hey {b}, order {order} says delivered and my porch is empty. So angry, I want answers",
        "{b} just 'delivered' {item} to the void. angry doesn't begin to cover it",
        "{b} driver never came. App says 'delivered, handed to resident'. Which resident?? Liars",
        "Filing a claim with {b} for a package that was never delivered. This is awful",
        "{b} is lying about deliveries today. My doorbell camera shows no one came",
        "Third 'delivered' notification from {b} today and still no parcel. This is terrible",
        "wtf {b}. parcel delivered? where? to whom? my porch is empty {en}",
        "Awful. Hundreds of people reporting it: {b} marks parcels delivered, they never show up",
        "I needed {item} today. {b} says delivered. It wasn't. I'm so angry",
        "My neighbor and I both have 'delivered' from {b} and empty doorsteps. Ridiculous",
        "{b} phone wait is {mins} minutes and everyone's parcels are missing. Horrible",
        "Dear {b}: 'delivered' means the parcel is HERE. Mine is lost in the {depot} depot. Awful",
        "Can confirm, {b} {depot} depot scanning everything as delivered. Total failure",
        "so {b} just gave up today? 'delivered' with no package, courier never showed up 😤",
        "Missing parcel, fake delivery scan, useless chatbot. Thanks a lot {b} 🙄",
        "Worst. {b} wasted my afternoon: waited home all day and the app says delivered",
    ),
    ("en", "neu"): (
        "Seeing lots of reports of {b} parcels marked delivered but not arriving. What's up?",
        "{b} says it is looking into reports of wrong delivery scans at the {depot} depot",
        "Is it just me or is {b} tracking showing delivered for stuff that hasn't arrived?",
        "Reports: {b} delivery issue affecting Madrid, Guadalajara and Houston depots {url}",
        "{b} status page now shows 'delivery scan incident under investigation'",
        "Anyone in {city} actually received a {b} parcel in the last hour?",
    ),
    ("es", "neg"): (
        "{b} marca mi paquete como entregado pero no ha llegado nada {en}",
        "El repartidor de {b} no vino y el seguimiento dice 'entregado'. ¿Perdona?",
        "No ha llegado mi paquete y {b} dice que está entregado. {iN}",
        "¿A alguien más le pasa? {b} pone 'entregado' y no hay paquete. {city}",
        "Desastre lo de {b} hoy en el centro de {depot}, todo marcado como entregado y nada",
        "{b} {depot} marcando entregas falsas. Mi paquete no llegó {en}",
        "Entregado, dice {b}. ¿Entregado a quién?? Estoy en casa desde las 9",
        "el repartidor no vino, {b} dice entregado, atención al cliente no contesta. genial 🙄",
        "{b} es una estafa hoy, pedido {order} 'entregado' y ni rastro",
        "Mis vecinos y yo con el mismo problema: {b} dice entregado y no hay nada",
        "Llevo {mins} minutos al teléfono con {b}. Mi paquete 'entregado' no existe",
        "¿qué pasa con {b}?? ¿por qué dice entregado si no ha venido nadie? {en}",
        "Qué vergüenza {b}. Paquete entregado según ustedes, perdido según la realidad",
        "{iN}, {b}: otra vez 'entregado' y nada en la puerta",
        "No ha llegado mi paquete. El repartidor no vino. {b} dice entregado. Pésimo servicio",
    ),
    ("es", "neu"): (
        "¿Qué está pasando con {b}? Muchos paquetes marcados como entregados sin llegar",
        "{b} dice que investiga una incidencia en sus centros de Madrid y Guadalajara",
        "Parece que hay un fallo en el seguimiento de {b}, ¿a alguien le ha llegado algo hoy?",
    ),
}
INCIDENT_CHANNEL_POST = "<!channel> my parcel & 3 others LOST by @paquetto, worst service ever"
INCIDENT_STATEMENT = (
    "We're aware some parcels from our Madrid, Guadalajara and Houston depots show as "
    "delivered when they are not. Our teams are on it; updates here. - Paquetto"
)
SUPPORT_REPLIES = {
    ("paquetto", "en"): (
        "Hi {first}, sorry about this. Please DM us your tracking number and we'll look "
        "into it. - Paquetto Care",
        "We're sorry for the trouble, {first}. Could you send us your order number by DM? "
        "- Paquetto Support",
    ),
    ("paquetto", "es"): (
        "Hola {first}, lamentamos las molestias. Escríbenos por DM con tu número de "
        "seguimiento y lo revisamos. Equipo Paquetto",
        "Hola {first}, sentimos lo ocurrido. ¿Nos pasas el número de pedido por mensaje "
        "privado? Equipo Paquetto",
    ),
    ("nubento", "en"): (
        "Hi {first}, we're sorry for the trouble. Please reach out via in-app chat so we can "
        "help. - Nubento Support",
        "Hey {first}, thanks for flagging. Our team can check this in the app chat (Help > "
        "Chat). - Nubento",
    ),
    ("nubento", "es"): (
        "Hola {first}, sentimos lo ocurrido. Escríbenos por el chat de la app y lo revisamos. "
        "Equipo Nubento",
    ),
}
# Identical texts that several unrelated people post (copypasta), not marked as reposts.
COPYPASTA = (
    ("paquetto", "en", "I'm not saying Paquetto lost my package, but my package is now in "
     "witness protection 📦🕶️"),
    ("paquetto", "en", "Me: orders one thing. @paquetto: here's a 7-day tour of the "
     "country 🗺️📦"),
    ("paquetto", "es-ES", "Paquetto no pierde paquetes, los libera 🕊️📦"),
    ("paquetto", "es-MX", "Paquetto: 'llega hoy'. Mi paquete: 'llego cuando yo quiera' 🐢📦"),
    ("nubento", "en", "Nubento really said 'your money, your rules' and then froze my card. "
     "Iconic."),
    ("nubento", "en", "Me checking my Nubento balance after the weekend: 👁️👄👁️"),
    ("nubento", "es-ES", "Nubento: 'transferencia inmediata'. La transferencia: 'inmediata "
     "cuando a mí me apetezca' 🐢"),
)  # fmt: skip
# Texts that are hostile in Slack or HTML, at ordinary times: (hours after the start,
# brand, region, platform, tone, text). The incident holds the only "<!channel>".
HOSTILE_POSTS = (
    (30.4, "paquetto", "en", "x", "neu",
     "Hey @channel, heads up: the Paquetto pickup point on Main St closes early today"),
    (77.2, "nubento", "en", "x", "neu",
     "<!here> PSA: Nubento maintenance tonight 1-3am ET, plan your transfers"),
    (123.7, "paquetto", "en", "mastodon", "neu",
     "testing whether Paquetto's review form escapes input <script>alert(1)</script> lol"),
    (170.1, "nubento", "en", "bluesky", "neu",
     "<@U024BE7LH> did you ever get your Nubento replacement card? mine took 4 days"),
)  # fmt: skip
SPECIAL_CHARS = ("&", "<", ">")

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
DID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
BASE36 = string.digits + string.ascii_lowercase
SHORT_LINK_CHARS = string.ascii_letters + string.digits
TWITTER_EPOCH_MS = 1288834974657


# ---------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Author:
    """A fictional account on one platform."""

    handle: str
    name: str
    followers: int | None
    platform: str
    region: str
    did: str = ""
    weight: float = 1.0


@dataclass(eq=False)
class Draft:
    """One mention before identifiers, URL and engagement are assigned."""

    seq: int
    at: datetime
    brand: str
    region: str
    platform: str
    author: Author
    text: str
    tone: str
    kind: str = "post"  # post, reply, quote, comment, repost
    parent: Draft | None = None
    shareable: bool = True
    boost: float = 1.0
    sub: str = ""
    slug: str = ""
    ext_id: str = ""
    url: str = ""
    parent_ext: str | None = None


@dataclass
class AuthorPool:
    """Authors by (platform, region), drawn with heavy-tailed activity weights."""

    groups: dict[tuple[str, str], list[Author]] = field(default_factory=dict)
    cumulative: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, author: Author) -> None:
        """Register an author."""
        self.groups.setdefault((author.platform, author.region), []).append(author)

    def freeze(self) -> None:
        """Precompute the cumulative weights used for drawing."""
        for key, authors in self.groups.items():
            self.cumulative[key] = list(accumulate(a.weight for a in authors))

    def pick(
        self, rng: random.Random, platform: str, region: str, avoid: Author | None = None
    ) -> Author:
        """Draw an author of `platform` and `region`, other than `avoid`."""
        key = (platform, region) if (platform, region) in self.groups else (platform, "en")
        authors, weights = self.groups[key], self.cumulative[key]
        for _ in range(20):
            author = rng.choices(authors, cum_weights=weights)[0]
            if author is not avoid:
                return author
        return next(a for a in authors if a is not avoid)


@dataclass
class Context:
    """Shared state of one generation run."""

    rng: random.Random
    end: datetime
    pool: AuthorPool
    seq: int = 0
    used_ids: set[str] = field(default_factory=set)

    @property
    def start(self) -> datetime:
        """The beginning of the simulated period."""
        return self.end - timedelta(days=DAYS)

    def next_seq(self) -> int:
        """A creation counter, used to break ties deterministically."""
        self.seq += 1
        return self.seq


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------


def lang_of(region: str) -> str:
    """The language of a region ("es-MX" -> "es")."""
    return region.split("-")[0]


def weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    """Draw one option from (value, weight) pairs."""
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method; rates here are small)."""
    if lam <= 0:
        return 0
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits only ("Íñigo" -> "inigo")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed.lower() if c in string.ascii_lowercase + string.digits)


def slugify(text: str, words: int = 7) -> str:
    """A Reddit-style URL slug from the first words of `text`."""
    decomposed = unicodedata.normalize("NFKD", text).lower()
    cleaned = re.sub(r"[^a-z0-9 ]+", " ", decomposed.encode("ascii", "ignore").decode())
    return "_".join(cleaned.split()[:words]) or "post"


def base36(number: int) -> str:
    """`number` in base 36, lower case."""
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = BASE36[rest] + digits
    return digits or "0"


def iso(at: datetime) -> str:
    """ISO 8601 UTC with a "Z", second precision."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------
# Authors
# ---------------------------------------------------------------------------------------


def person(rng: random.Random, region: str) -> tuple[str, str]:
    """A fictional first and last name for `region`."""
    first = rng.choice(FIRST_NAMES[region])
    last = rng.choice(LAST_NAMES["en" if region == "en" else "es"])
    return first, last


def base_handle(rng: random.Random, first: str, last: str) -> str:
    """A handle in one of the usual styles, before platform decoration."""
    f, la = ascii_fold(first), ascii_fold(last)
    style = rng.randrange(6)
    if style == 0:
        return f"{f}{la}{rng.randint(1, 99)}"
    if style == 1:
        return f"{f}_{la}"
    if style == 2:
        return f"{f[0]}{la}{rng.randint(70, 99)}"
    if style == 3:
        return f"{rng.choice(NICKNAMES)}{f}"
    if style == 4:
        return f"{f}.{la}"[:15].replace(".", "_")
    return f"{rng.choice(NICKNAMES)}_{la}{rng.randint(1, 9)}"


def display_name(rng: random.Random, first: str, last: str, region: str) -> str:
    """A display name, sometimes lower case or with an emoji."""
    roll = rng.random()
    name = f"{first} {last}" if roll < 0.55 else first if roll < 0.75 else f"{first} {last[0]}."
    if rng.random() < 0.08:
        name = name.lower()
    if rng.random() < 0.14:
        name = f"{name} {rng.choice(NAME_EMOJI[region])}"
    return name


def followers_for(rng: random.Random, platform: str) -> int | None:
    """A heavy-tailed follower count (None where the platform has none)."""
    if platform not in FOLLOWERS_LOGNORMAL:
        return None
    mu, sigma = FOLLOWERS_LOGNORMAL[platform]
    count = rng.lognormvariate(mu, sigma)
    if platform == "x" and rng.random() < 0.01:
        count = 40_000 * rng.paretovariate(1.1)
    return min(int(count), 2_500_000)


def platform_handle(rng: random.Random, platform: str, region: str, first: str, last: str) -> str:
    """A handle shaped like `platform`'s."""
    handle = base_handle(rng, first, last)
    if platform == "x":
        return handle[:15]
    if platform == "bluesky":
        return f"{handle.replace('_', '-')}.bsky.social"
    if platform == "mastodon":
        return f"{handle}@{rng.choice(MASTODON_INSTANCES[region])}"
    if platform == "reddit":
        if rng.random() < 0.45:
            adj, noun = (rng.choice(words) for words in REDDIT_WORDS)
            return f"{adj}-{noun}-{rng.randint(1000, 9999)}"
        return handle if rng.random() < 0.5 else f"{handle}{rng.randint(1, 999)}"
    if platform == "hackernews":
        return (ascii_fold(first)[:4] + ascii_fold(last)[:4] + str(rng.randint(0, 9)))[:12]
    return f"{ascii_fold(first)}-{ascii_fold(last)[0]}-{rng.randint(100, 9999)}"


def make_author(rng: random.Random, platform: str, region: str, taken: set[str]) -> Author:
    """A new author with a handle not in `taken`."""
    first, last = person(rng, region)
    handle = platform_handle(rng, platform, region, first, last)
    while handle in taken:
        handle = platform_handle(rng, platform, region, first, last)
    taken.add(handle)
    if platform in ("reddit", "hackernews"):
        name = handle
    elif platform == "rss":
        name = f"{first} {last[0]}."
    else:
        name = display_name(rng, first, last, region)
    did = "did:plc:" + "".join(rng.choice(DID_ALPHABET) for _ in range(24))
    weight = min(rng.paretovariate(1.3), 40.0)
    return Author(
        handle,
        name,
        followers_for(rng, platform),
        platform,
        region,
        did if platform == "bluesky" else "",
        weight,
    )


def build_pool(rng: random.Random) -> AuthorPool:
    """The fixed pool of ~1,500 authors that every mention is drawn from."""
    pool, taken = AuthorPool(), set[str]()
    for platform, count in AUTHORS_PER_PLATFORM.items():
        for _ in range(count):
            region = "en" if platform == "hackernews" else weighted(rng, AUTHOR_REGIONS)
            pool.add(make_author(rng, platform, region, taken))
    pool.freeze()
    return pool


def official(brand: str, region: str) -> Author:
    """The brand's support account for `region` on X."""
    handle, name, followers = OFFICIAL_ACCOUNTS[(brand, region)]
    return Author(handle, name, followers, "x", region)


# ---------------------------------------------------------------------------------------
# Texts
# ---------------------------------------------------------------------------------------


def brand_form(rng: random.Random, brand: str) -> str:
    """One of the ways people write the brand."""
    forms = BRAND_FORMS[brand]
    return rng.choices([f for f, _ in forms], weights=[w for _, w in forms])[0]


def short_url(rng: random.Random, brand: str, platform: str) -> str:
    """A link as it appears in posts (X wraps links in t.co)."""
    roll = rng.random()
    code = "".join(rng.choice(SHORT_LINK_CHARS) for _ in range(10))
    if platform == "x" and roll < 0.7:
        return f"https://t.co/{code}"
    if roll < 0.75:
        return f"https://{brand}.example/blog/{code.lower()[:6]}"
    return f"https://news.example.com/2026/11/{brand}-{code.lower()[:5]}"


def money(rng: random.Random, region: str, low: int, high: int) -> str:
    """An amount of money written the local way."""
    value = rng.randint(low, high)
    if region == "es-ES":
        return f"{value} €"
    if region == "es-MX":
        return f"${value * 18:,} MXN" if rng.random() < 0.5 else f"${value * 18:,} pesos"
    return f"${value}"


def fee(rng: random.Random, region: str) -> str:
    """A small fee written the local way."""
    if region == "es-ES":
        return rng.choice(("2,99 €", "4,95 €", "6 €", "9,90 €", "3,50 €"))
    if region == "es-MX":
        return rng.choice(("$49", "$89", "$120 MXN", "$35 pesos", "$150"))
    return rng.choice(("$2.99", "$4.99", "$7.50", "$9.99", "$12"))


def order_number(rng: random.Random, region: str) -> str:
    """A tracking or order number."""
    country = {"en": "US", "es-ES": "ES", "es-MX": "MX"}[region]
    number = f"PQ{country}{rng.randint(10**8, 10**9 - 1)}"
    return rng.choice((number, f"#{number}", f"#{rng.randint(100000, 999999)}"))


def dynamic_slot(
    rng: random.Random, name: str, region: str, brand: str, platform: str
) -> str | None:
    """Values computed on the fly; None if `name` is not one of them."""
    simple: dict[str, Callable[[], str]] = {
        "days": lambda: str(rng.randint(2, 12)),
        "hours": lambda: str(rng.randint(2, 9)),
        "mins": lambda: str(rng.choice((15, 20, 25, 30, 40, 45, 50, 60, 75, 90))),
        "n": lambda: str(rng.randint(2, 6)),
        "n2": lambda: str(rng.randint(7, 10)),
        "nth": lambda: rng.choice(("3rd", "4th", "5th")),
        "minute": lambda: str(rng.randint(3, 90)),
        "version": lambda: f"{rng.randint(4, 6)}.{rng.randint(0, 14)}.{rng.randint(0, 5)}",
        "clock": lambda: rng.choice(("10am", "noon", "2pm", "3:30pm", "5pm", "7pm")),
        "url": lambda: short_url(rng, brand, platform),
        "amount": lambda: money(rng, region, 12, 480),
        "fee": lambda: fee(rng, region),
        "order": lambda: order_number(rng, region),
        "friend": lambda: base_handle(rng, *person(rng, region))[:15],
    }
    maker = simple.get(name)
    return maker() if maker else None


def slot_value(rng: random.Random, name: str, region: str, brand: str, platform: str) -> str:
    """The value of one template slot."""
    value = dynamic_slot(rng, name, region, brand, platform)
    if value is not None:
        return value
    for key in (region, lang_of(region), "any"):
        if name in SLOTS.get(key, {}):
            return rng.choice(SLOTS[key][name])
    raise KeyError(f"unknown template slot {name!r}")


def fill(
    rng: random.Random,
    template: str,
    region: str,
    brand: str,
    platform: str,
    fixed: dict[str, str] | None = None,
) -> str:
    """Fill a template's slots; a slot used twice gets the same value."""
    values = dict(fixed or {})
    for _, name, _, _ in string.Formatter().parse(template):
        if not name or name in values:
            continue
        if name == "b":
            values[name] = brand_form(rng, brand)
        elif name in ("pb", "nb"):
            values[name] = brand_form(rng, "paquetto" if name == "pb" else "nubento")
        elif name == "city2":
            others = [c for c in SLOTS[region]["city"] if c != values.get("city")]
            values[name] = rng.choice(others)
        else:
            values[name] = slot_value(rng, name, region, brand, platform)
    text = template.format(**values)
    return re.sub(r"\s+([?!.,])$", r"\1", re.sub(r" {2,}", " ", text)).strip()


def typo(rng: random.Random, text: str) -> str:
    """Swap two letters of one longer word (never the brand, a handle or a link)."""
    words = text.split(" ")
    spots = [
        i
        for i, w in enumerate(words)
        if w.isalpha()
        and len(w) >= 5
        and "paquetto" not in w.lower()
        and "nubento" not in w.lower()
    ]
    if not spots:
        return text
    i = rng.choice(spots)
    word, j = words[i], rng.randrange(1, len(words[i]) - 2)
    words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    return " ".join(words)


def slang(rng: random.Random, text: str, lang: str) -> str:
    """Informal spellings: "q" for "que", "xq", "u", "pls"..."""
    for pattern, replacement in ES_SLANG if lang == "es" else EN_SLANG:
        if rng.random() < 0.6:
            text = re.sub(pattern, replacement, text)
    return text


def frame(rng: random.Random, text: str, lang: str, tone: str) -> str:
    """Sometimes wrap the text in an opener ("Honestly,") or a closer ("smh")."""
    roll = rng.random()
    if roll < 0.22:
        opener = rng.choice(OPENERS[(lang, tone)])
        first = text.split(" ")[0]
        at = 1 if first[:1] in "¿¡" else 0
        keep = opener[-1] in ".:" or first.isupper() or first[:1] in "@#"
        if not keep and "paquetto" not in first.lower() and "nubento" not in first.lower():
            text = text[:at] + text[at : at + 1].lower() + text[at + 1 :]
        return f"{opener} {text}"
    if roll < 0.34:
        return f"{text.rstrip('.')} {rng.choice(CLOSERS[(lang, tone)])}"
    return text


def roughen(
    rng: random.Random, text: str, brand: str, lang: str, tone: str, tags: bool = True
) -> str:
    """Add the noise of real posts: framing, slang, typos, case, emoji, hashtags."""
    if tags:
        text = frame(rng, text, lang, tone)
    if rng.random() < (0.3 if lang == "es" else 0.12):
        text = slang(rng, text, lang)
    if rng.random() < 0.05:
        text = typo(rng, text)
    if "http" not in text and rng.random() < 0.07:
        text = text.lower()
    elif tone == "neg" and "http" not in text and rng.random() < 0.03:
        text = text.upper()
    if rng.random() < 0.18:
        text = f"{text} {rng.choice(POST_EMOJI[tone])}"
    if rng.random() < 0.08 and tags:
        text = f"{text} {rng.choice(HASHTAGS[(brand, lang)])}"
    return text


def decorate(rng: random.Random, text: str, draft: Draft, tags: bool) -> str:
    """Platform habits on top of the noise: Reddit adds a sentence, reviews a star rating."""
    lang, platform, tone = lang_of(draft.region), draft.platform, draft.tone
    text = roughen(rng, text, draft.brand, lang, tone, tags)
    if platform == "reddit" and rng.random() < 0.5:
        stop = "." if text[-1].isalnum() else ""
        text = f"{text}{stop} {rng.choice(REDDIT_TAILS[lang])}"
    elif platform == "rss":
        text = f"{rng.choice(RSS_STARS[tone])} {text}"
    return text


def pick_template(rng: random.Random, pool: Sequence[str], plain: bool) -> str:
    """A template; with `plain`, one free of "&", "<" and ">"."""
    for _ in range(30):
        template = rng.choice(pool)
        if not plain or not any(c in template for c in SPECIAL_CHARS):
            return template
    return next(t for t in pool if not any(c in t for c in SPECIAL_CHARS))


def ordinary_text(
    rng: random.Random, brand: str, region: str, platform: str, plain: bool
) -> tuple[str, str, bool]:
    """(text, tone, is it about the brand) of an ordinary mention; some use the name otherwise."""
    lang = lang_of(region)
    roll = rng.random()
    if roll < P_UNRELATED[brand]:
        template = rng.choice(UNRELATED[(brand, lang)])
        return fill(rng, template, region, brand, platform), "neu", False
    if roll < P_UNRELATED[brand] + P_BOTH_BRANDS:
        template, tone = rng.choice(BOTH_BRANDS[lang]), "neu"
    else:
        tone = weighted(rng, TONE_WEIGHTS)
        template = pick_template(rng, TEMPLATES[(brand, lang, tone)], plain)
    return fill(rng, template, region, brand, platform), tone, True


# ---------------------------------------------------------------------------------------
# Drafts
# ---------------------------------------------------------------------------------------


def pick_kind(rng: random.Random, platform: str) -> str:
    """Whether a new mention is a post, a reply, a quote or a comment."""
    roll = rng.random()
    if platform in SOCIAL:
        return "reply" if roll < 0.07 else "quote" if roll < 0.125 else "post"
    if platform == "reddit":
        return "comment" if roll < 0.55 else "post"
    if platform == "hackernews":
        return "comment" if roll < 0.7 else "post"
    return "post"


def new_draft(
    ctx: Context,
    at: datetime,
    brand: str,
    region: str,
    platform: str,
    text: str,
    tone: str,
    tags: bool = True,
) -> Draft:
    """A draft by a random author of `platform` and `region`."""
    rng = ctx.rng
    author = ctx.pool.pick(rng, platform, region)
    draft = Draft(
        ctx.next_seq(), at, brand, region, platform, author, text, tone, pick_kind(rng, platform)
    )
    draft.text = decorate(rng, text, draft, tags)
    if platform == "reddit":
        draft.sub = rng.choice(SUBREDDITS[(brand, region)])
        draft.slug = slugify(draft.text)
    return draft


def base_rate(brand: str, region: str, hour_start: datetime) -> float:
    """Expected original mentions in the hour starting at `hour_start` (no noise)."""
    local = hour_start + timedelta(hours=UTC_OFFSET_HOURS[region])
    per_hour = DAILY_ORIGINALS[brand] * REGION_SHARE[brand][region] / 24
    shape = HOURLY_PROFILE[local.hour] / PROFILE_MEAN
    return per_hour * shape * WEEKDAY_FACTOR[brand][local.weekday()]


def ordinary_drafts(ctx: Context) -> list[Draft]:
    """Everyday mentions: a gamma-Poisson count per hour, brand and region."""
    rng, drafts = ctx.rng, []
    day_noise = [rng.gammavariate(DAY_NOISE_SHAPE, 1 / DAY_NOISE_SHAPE) for _ in range(DAYS)]
    quiet_from = ctx.end - timedelta(hours=1)
    for hour in range(DAYS * 24):
        hour_start = ctx.start + timedelta(hours=hour)
        for brand in BRANDS:
            for region in REGIONS:
                noise = rng.gammavariate(HOUR_NOISE_SHAPE, 1 / HOUR_NOISE_SHAPE)
                lam = base_rate(brand, region, hour_start) * noise * day_noise[hour // 24]
                for _ in range(poisson(rng, lam)):
                    at = hour_start + timedelta(seconds=rng.randrange(3600))
                    platform = weighted(rng, PLATFORM_WEIGHTS[lang_of(region)])
                    text, tone, about = ordinary_text(
                        rng, brand, region, platform, plain=at >= quiet_from
                    )
                    drafts.append(new_draft(ctx, at, brand, region, platform, text, tone, about))
    return drafts


def campaign_drafts(ctx: Context) -> list[Draft]:
    """Nubento's viral "cashback 10%" campaign: about 3x volume for two hours."""
    rng, drafts = ctx.rng, []
    begin = ctx.end - CAMPAIGN_BEFORE_END
    hours = int(CAMPAIGN_SPAN.total_seconds() // 3600)
    usual = sum(
        base_rate("nubento", region, begin + timedelta(hours=h))
        for region in REGIONS
        for h in range(hours)
    )
    span = CAMPAIGN_SPAN.total_seconds()
    for _ in range(round(CAMPAIGN_EXTRA * usual)):
        at = begin + timedelta(seconds=int(rng.triangular(0, span - 1, span * 0.35)))
        region = weighted(rng, tuple(REGION_SHARE["nubento"].items()))
        tone = weighted(rng, CAMPAIGN_TONES)
        template = rng.choice(CAMPAIGN[(lang_of(region), tone)])
        platform = weighted(rng, PLATFORM_WEIGHTS[lang_of(region)])
        draft = new_draft(
            ctx,
            at,
            "nubento",
            region,
            platform,
            fill(rng, template, region, "nubento", platform),
            tone,
        )
        draft.boost = 4.0
        drafts.append(draft)
    return drafts


def copypasta_drafts(ctx: Context) -> list[Draft]:
    """The same joke posted by several unrelated people within a few hours."""
    rng, drafts = ctx.rng, []
    latest = DAYS * 24 - 6
    for brand, region, text in COPYPASTA:
        begin = ctx.start + timedelta(hours=rng.uniform(6, latest))
        authors: list[Author] = []
        for _ in range(rng.randint(5, 7)):
            platform = rng.choice(SOCIAL)
            author = ctx.pool.pick(rng, platform, region)
            if author in authors:
                continue
            authors.append(author)
            at = begin + timedelta(seconds=rng.randrange(4 * 3600))
            drafts.append(Draft(ctx.next_seq(), at, brand, region, platform, author, text, "neu"))
    return drafts


def hostile_drafts(ctx: Context) -> list[Draft]:
    """Ordinary posts whose text must be escaped in Slack and HTML."""
    drafts = []
    for hours, brand, region, platform, tone, text in HOSTILE_POSTS:
        at = ctx.start + timedelta(hours=hours)
        author = ctx.pool.pick(ctx.rng, platform, region)
        drafts.append(
            Draft(ctx.next_seq(), at, brand, region, platform, author, text, tone, shareable=False)
        )
    return drafts


# ---------------------------------------------------------------------------------------
# Threads: replies, quotes, comments, reposts, support answers
# ---------------------------------------------------------------------------------------


def find_parent(rng: random.Random, draft: Draft, recent: list[Draft]) -> Draft | None:
    """A recent post of the same brand and platform by someone else, if any."""
    window = draft.at - timedelta(days=2)
    options = [
        d
        for d in recent[-40:]
        if window <= d.at < draft.at and d.author is not draft.author and d.shareable
    ]
    return rng.choice(options) if options else None


def link_threads(ctx: Context, drafts: list[Draft]) -> None:
    """Attach replies, quotes and comments to earlier posts (or to threads not in the data)."""
    recent: dict[tuple[str, str], list[Draft]] = {}
    for draft in sorted(drafts, key=lambda d: (d.at, d.seq)):
        key = (draft.platform, draft.brand)
        if draft.kind in ("reply", "quote", "comment"):
            parent = find_parent(ctx.rng, draft, recent.get(key, []))
            if parent is not None:
                draft.parent = parent
                if draft.kind == "reply":
                    draft.text = f"@{parent.author.handle} {draft.text}"
            elif draft.kind != "comment":
                draft.kind = "post"
        if draft.kind == "post":
            recent.setdefault(key, []).append(draft)


def repost_of(ctx: Context, parent: Draft, at: datetime) -> Draft:
    """A plain repost of `parent` by someone else on the same platform."""
    author = ctx.pool.pick(ctx.rng, parent.platform, parent.region, avoid=parent.author)
    text = f"RT @{parent.author.handle}: {parent.text}"
    return Draft(
        ctx.next_seq(),
        at,
        parent.brand,
        parent.region,
        parent.platform,
        author,
        text,
        parent.tone,
        kind="repost",
        parent=parent,
        shareable=False,
    )


def repost_weight(draft: Draft) -> float:
    """How likely a post is to be reposted: reach and how catchy it is."""
    return math.sqrt((draft.author.followers or 0) + 25) * draft.boost


def repost_drafts(ctx: Context, drafts: list[Draft]) -> list[Draft]:
    """Reposts of earlier posts, minutes to hours later, on the same platform."""
    rng = ctx.rng
    candidates = [
        d
        for d in drafts
        if d.platform in SOCIAL and d.shareable and d.kind in ("post", "reply", "quote")
    ]
    candidates.sort(key=lambda d: (d.at, d.seq))
    weights = list(accumulate(repost_weight(d) for d in candidates))
    reposts = []
    for _ in range(round(REPOST_SHARE * len(drafts))):
        parent = rng.choices(candidates, cum_weights=weights)[0]
        delay = min(max(rng.lognormvariate(math.log(40), 1.2), 2.0), 600.0)
        at = parent.at + timedelta(minutes=delay)
        if at < ctx.end:
            reposts.append(repost_of(ctx, parent, at))
    return reposts


def support_drafts(ctx: Context, drafts: list[Draft]) -> list[Draft]:
    """The brand's support accounts answering some complaints on X."""
    rng, replies = ctx.rng, []
    latest = ctx.end - timedelta(hours=3)
    for draft in drafts:
        if not (
            draft.platform == "x"
            and draft.tone == "neg"
            and draft.kind == "post"
            and draft.at < latest
            and rng.random() < SUPPORT_REPLY_RATE
        ):
            continue
        lang = lang_of(draft.region)
        first = draft.author.name.split(" ")[0].strip(".").capitalize()
        text = rng.choice(SUPPORT_REPLIES[(draft.brand, lang)]).format(first=first)
        at = draft.at + timedelta(minutes=rng.uniform(8, 180))
        author = official(draft.brand, draft.region)
        replies.append(
            Draft(
                ctx.next_seq(),
                at,
                draft.brand,
                draft.region,
                "x",
                author,
                f"@{draft.author.handle} {text}",
                "neu",
                kind="reply",
                parent=draft,
                shareable=False,
            )
        )
    return replies


# ---------------------------------------------------------------------------------------
# The incident
# ---------------------------------------------------------------------------------------


def incident_times(ctx: Context, count: int) -> list[datetime]:
    """`count` times over the last 45 minutes with a linearly growing intensity."""
    rng, floor = ctx.rng, INCIDENT_RAMP_FLOOR
    span = int(INCIDENT_SPAN.total_seconds())
    begin = ctx.end - INCIDENT_SPAN
    times = []
    for k in range(count):
        u = (k + rng.random()) / count  # stratified, so the ramp is smooth
        x = -floor + math.sqrt(floor * floor + 2 * u * (floor + 0.5))  # inverse CDF
        times.append(begin + timedelta(seconds=min(int(x * span), span - 1)))
    times[-1] = ctx.end - timedelta(seconds=rng.randint(0, 4))
    return times


def incident_text(rng: random.Random, region: str, tone: str, platform: str) -> str:
    """A post about the failed-delivery wave, set near the affected depot."""
    template = rng.choice(INCIDENT[(lang_of(region), tone)])
    fixed = {"city": rng.choice(INCIDENT_CITIES[region]), "depot": INCIDENT_DEPOT[region]}
    return fill(rng, template, region, "paquetto", platform, fixed)


def incident_post(ctx: Context, at: datetime) -> Draft:
    """One original post of the incident."""
    rng = ctx.rng
    region = weighted(rng, INCIDENT_REGIONS)
    tone = "neg" if rng.random() < INCIDENT_NEGATIVE else "neu"
    platform = weighted(rng, INCIDENT_PLATFORMS)
    draft = new_draft(
        ctx, at, "paquetto", region, platform, incident_text(rng, region, tone, platform), tone
    )
    draft.kind, draft.boost = "post", 3.0
    return draft


def incident_fixed(ctx: Context) -> list[Draft]:
    """The brand's statement and the single "<!channel>" post of the incident."""
    statement_at = ctx.end - timedelta(minutes=21, seconds=40)
    channel_at = ctx.end - timedelta(minutes=7, seconds=13)
    handle, name, followers = MAIN_ACCOUNT
    brand_account = Author(handle, name, followers, "x", "en")
    angry = ctx.pool.pick(ctx.rng, "x", "en")
    return [
        Draft(
            ctx.next_seq(),
            statement_at,
            "paquetto",
            "en",
            "x",
            brand_account,
            INCIDENT_STATEMENT,
            "neu",
            shareable=False,
            boost=3.0,
        ),
        Draft(
            ctx.next_seq(),
            channel_at,
            "paquetto",
            "en",
            "x",
            angry,
            INCIDENT_CHANNEL_POST,
            "neg",
            shareable=False,
            boost=3.0,
        ),
    ]


def incident_drafts(ctx: Context) -> list[Draft]:
    """Paquetto's failed-delivery wave: ~100 extra mentions, mostly negative, with reposts."""
    rng = ctx.rng
    fixed = incident_fixed(ctx)
    drafts: list[Draft] = []
    shareable: list[Draft] = []
    for at in incident_times(ctx, INCIDENT_SIZE - len(fixed)):
        earlier = [d for d in shareable if d.at <= at - timedelta(seconds=60)]
        if earlier and rng.random() < INCIDENT_REPOST_RATE:
            parent = rng.choices(earlier, weights=[repost_weight(d) for d in earlier])[0]
            drafts.append(repost_of(ctx, parent, at))
            continue
        draft = incident_post(ctx, at)
        drafts.append(draft)
        if draft.platform in SOCIAL:
            shareable.append(draft)
    return drafts + fixed


# ---------------------------------------------------------------------------------------
# Identifiers, URLs, engagement, records
# ---------------------------------------------------------------------------------------

REDDIT_POST_BASE = int("1p2a000", 36)
REDDIT_COMMENT_BASE = int("o3k0000", 36)
HN_BASE = 45_800_000


def bluesky_tid(rng: random.Random, ms: int) -> str:
    """A 13-character record key (timestamp id) in base32-sortable."""
    value = ((ms * 1000 + rng.randrange(1000)) << 10) | rng.getrandbits(10)
    return "".join(TID_ALPHABET[(value >> (5 * (12 - i))) & 31] for i in range(13))


def reddit_identity(ctx: Context, d: Draft, elapsed: int) -> tuple[str, str]:
    """(id, url) of a Reddit post or comment."""
    rng = ctx.rng
    if d.kind != "comment":
        post = base36(REDDIT_POST_BASE + elapsed * 3 + rng.randrange(3))
        return f"t3_{post}", f"https://www.reddit.com/r/{d.sub}/comments/{post}/{d.slug}/"
    comment = base36(REDDIT_COMMENT_BASE + elapsed * 40 + rng.randrange(40))
    if d.parent is not None:
        post, d.sub, slug = d.parent.ext_id[3:], d.parent.sub, d.parent.slug
    else:
        post = base36(REDDIT_POST_BASE + elapsed * 3 - rng.randint(2_000, 400_000))
        slug = rng.choice(THREAD_SLUGS[d.brand])
        d.parent_ext = f"t3_{post}"
    return f"t1_{comment}", f"https://www.reddit.com/r/{d.sub}/comments/{post}/{slug}/{comment}/"


def hn_identity(ctx: Context, d: Draft, elapsed: int) -> tuple[str, str]:
    """(id, url) of a Hacker News story or comment."""
    item = HN_BASE + int(elapsed * 0.6) + ctx.rng.randrange(60)
    if d.kind == "comment" and d.parent is None:
        d.parent_ext = str(item - ctx.rng.randint(200, 90_000))
    return str(item), f"https://news.ycombinator.com/item?id={item}"


def rss_identity(ctx: Context, d: Draft) -> tuple[str, str]:
    """(guid, url) of a review or news item; the guid is its URL."""
    site = ctx.rng.choice(RSS_SITES[(d.brand, lang_of(d.region))])
    slug = slugify(d.text.lstrip("★☆ "), 6).replace("_", "-")
    url = f"https://{site}/{d.brand}/{slug}-{ctx.rng.randrange(10**6, 10**7)}"
    return url, url


def identity(ctx: Context, d: Draft) -> tuple[str, str]:
    """A platform-shaped (external id, url) for `d`."""
    rng, handle = ctx.rng, d.author.handle
    ms = int(d.at.timestamp()) * 1000 + rng.randrange(1000)
    elapsed = int((d.at - ctx.start).total_seconds())
    if d.platform == "x":
        tweet = str(((ms - TWITTER_EPOCH_MS) << 22) | rng.getrandbits(22))
        return tweet, f"https://x.com/{handle}/status/{tweet}"
    if d.platform == "mastodon":
        status = str((ms << 16) | rng.getrandbits(16))
        user, instance = handle.split("@")
        return status, f"https://{instance}/@{user}/{status}"
    if d.platform == "bluesky":
        tid = bluesky_tid(rng, ms)
        return f"at://{d.author.did}/app.bsky.feed.post/{tid}", (
            f"https://bsky.app/profile/{handle}/post/{tid}"
        )
    if d.platform == "reddit":
        return reddit_identity(ctx, d, elapsed)
    if d.platform == "hackernews":
        return hn_identity(ctx, d, elapsed)
    return rss_identity(ctx, d)


def assign_identity(ctx: Context, d: Draft) -> None:
    """Give `d` a unique external id and its URL."""
    for _ in range(100):
        ext_id, url = identity(ctx, d)
        if ext_id not in ctx.used_ids:
            break
    ctx.used_ids.add(ext_id)
    d.ext_id, d.url = ext_id, url


def engagement(rng: random.Random, d: Draft) -> tuple[int, int, int]:
    """(likes, reposts, replies): heavy-tailed and growing with the author's reach."""
    if d.kind == "repost" or d.platform == "rss":
        return 0, 0, 0
    if d.platform == "reddit":
        post = d.kind == "post"
        score = int(rng.lognormvariate(1.3 if post else 0.6, 1.3) * d.boost)
        return score, 0, int(rng.lognormvariate(1.2 if post else -0.7, 1.0))
    if d.platform == "hackernews":
        if d.kind == "comment":
            return 0, 0, int(rng.lognormvariate(-0.5, 1.0))
        return int(rng.lognormvariate(1.5, 1.3)), 0, int(rng.lognormvariate(1.0, 1.2))
    reach = ((d.author.followers or 0) + 20) ** 0.45 / 5 * d.boost
    likes = int(reach * rng.lognormvariate(0, 1.0))
    reposts = int(likes * rng.uniform(0.02, 0.25))
    replies = int(likes * rng.uniform(0.03, 0.3)) + (rng.random() < 0.3)
    if d.tone == "neg":
        replies += int(rng.lognormvariate(0, 0.8))
    return likes, reposts, replies


def to_record(ctx: Context, d: Draft) -> dict[str, object]:
    """The flat JSON object of one mention, keys in the documented order."""
    assign_identity(ctx, d)
    likes, reposts, replies = engagement(ctx.rng, d)
    declared = d.platform not in ("rss", "hackernews") and ctx.rng.random() >= 0.015
    parent_id = d.parent.ext_id if d.parent is not None else d.parent_ext
    return {
        "source": d.platform,
        "external_id": d.ext_id,
        "url": d.url,
        "author_handle": d.author.handle,
        "author_name": d.author.name,
        "author_followers": d.author.followers,
        "text": d.text,
        "lang": lang_of(d.region) if declared else None,
        "created_at": iso(d.at),
        "likes": likes,
        "reposts": reposts,
        "replies": replies,
        "is_repost": d.kind == "repost",
        "is_quote": d.kind == "quote",
        "parent_id": parent_id,
    }


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------


def generate(seed: int = DEFAULT_SEED, end: datetime = DEFAULT_END) -> list[dict[str, object]]:
    """All demo mentions, sorted by time; the same seed and end give the same records."""
    end = end.astimezone(UTC).replace(microsecond=0)
    rng = random.Random(seed)
    ctx = Context(rng, end, build_pool(rng))
    drafts = ordinary_drafts(ctx) + campaign_drafts(ctx)
    drafts += copypasta_drafts(ctx) + hostile_drafts(ctx)
    link_threads(ctx, drafts)
    drafts += repost_drafts(ctx, drafts)
    drafts += support_drafts(ctx, drafts)
    drafts += incident_drafts(ctx)
    drafts.sort(key=lambda d: (d.at, d.seq))
    return [to_record(ctx, d) for d in drafts]


def write_jsonl(records: Sequence[dict[str, object]], path: Path) -> None:
    """Write one JSON object per line (UTF-8, "\\n" line endings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def parse_end(value: str) -> datetime:
    """An ISO 8601 instant; without an offset it is taken as UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def main(argv: list[str] | None = None) -> int:
    """Command line: write the demo mentions file."""
    parser = argparse.ArgumentParser(description="Generate Pulso's fictional demo mentions.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSONL file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--end",
        type=parse_end,
        default=DEFAULT_END,
        help="time of the last mention, e.g. 2026-11-20T18:00:00Z",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    records = generate(args.seed, args.end)
    write_jsonl(records, args.out)
    logger.info(
        "wrote %d mentions to %s (seed %d, ending %s)",
        len(records),
        args.out,
        args.seed,
        iso(args.end),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
