"""What the interpreter says on its own (defaults, confirmations), per language.

Flows override most of these with their own handlers; these are the
documented defaults that keep a call sensible when a flow is silent.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULTS: Mapping[str, Mapping[str, str]] = {
    "noinput": {
        "en": "Sorry, I didn't hear anything.",
        "pt": "Desculpe, não ouvi nada.",
    },
    "nomatch": {
        "en": "Sorry, that is not a valid option.",
        "pt": "Desculpe, essa opção não é válida.",
    },
    "exhausted": {
        "en": "Sorry, we could not complete your request. Goodbye.",
        "pt": "Desculpe, não foi possível concluir o seu atendimento. Até logo.",
    },
    "error": {
        "en": "Sorry, something went wrong on our side. Please call again later. Goodbye.",
        "pt": "Desculpe, tivemos um problema. Por favor, ligue mais tarde. Até logo.",
    },
    "did_you_say": {
        "en": "Did you say {phrase}? Say yes or press 1, or say no or press 2.",
        "pt": "Você disse {phrase}? Diga sim ou tecle 1, ou diga não ou tecle 2.",
    },
    "capture_confirm": {
        "en": "You entered {digits}. Press 1 if that is correct, or 2 to enter it again.",
        "pt": "Você digitou {digits}. Tecle 1 se estiver correto, ou 2 para digitar novamente.",
    },
    "ewt": {
        "en": "Your estimated wait time is {ewt}.",
        "pt": "O tempo estimado de espera é de {ewt}.",
    },
    "position": {
        "en": "You are number {position} in line.",
        "pt": "Você é o número {position} da fila.",
    },
    "callback_number": {
        "en": "Please enter the number we should call you back on, then press hash.",
        "pt": "Digite o número para retornarmos a ligação e depois tecle jogo da velha.",
    },
    "callback_declined": {
        "en": "All right.",
        "pt": "Tudo bem.",
    },
}


# A flow overrides a built-in prompt with a named prompt of its name (`prompt did_you_say:`,
# one text per language); its template also sees these values, as the built-in text does.
VALUES: Mapping[str, tuple[str, ...]] = {
    "did_you_say": ("phrase",),
    "capture_confirm": ("digits",),
    "ewt": ("ewt",),
    "position": ("position",),
}


def default(key: str, language: str, **values: str) -> str:
    texts = DEFAULTS[key]
    text = texts.get(language.split("-")[0], texts["en"])
    return text.format(**values) if values else text


def in_language(texts: Mapping[str, str], language: str) -> str | None:
    """A multilingual prompt's text for `language`: the exact tag, else the same base language
    (pt-BR for pt-PT), else the first one written."""
    if language in texts:
        return texts[language]
    base = language.split("-")[0]
    for tag, text in texts.items():
        if tag.split("-")[0] == base:
            return text
    return next(iter(texts.values()), None)


__all__ = ["DEFAULTS", "VALUES", "default", "in_language"]
