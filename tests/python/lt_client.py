#!/usr/bin/env python3
"""language_tool_python (the PyPI LanguageTool client) against a running `sufler serve`.

    python3 tests/python/lt_client.py URL [--token TOKEN]

URL is the server's root (http://127.0.0.1:PORT). With --token the server runs with tokens:
language_tool_python has no option to send one, so the token goes in LanguageTool's own `apiKey`
form field through a small subclass (see `TokenLanguageTool`), and the script also checks that a
client without a token gets no matches.

Checks, each an assertion (exit 1 on the first failure, with the JSON that broke it):
- the client reads /v2/languages and accepts `ru-RU`;
- a rude draft gets matches with sufler's rule ids (`polite-you`, …), Russian messages and
  replacements; each match's offset/length, counted in UTF-16 units as LanguageTool does, slices
  the reported text out of the draft and out of its context;
- an emoji before an issue shifts the raw offset by two UTF-16 units, and the client's own
  UTF-16 → code point conversion lands on the same text;
- `disabled_rules`, `enabled_rules` + `enabled_rules_only` reach the server;
- `correct()` applies the replacements;
- the raw JSON has every field LanguageTool answers with.

Known differences that are reported (printed as MISMATCH lines) rather than failed are listed
at the end of the output.
"""

import argparse
import json
import sys
import unicodedata
from importlib.metadata import version

import language_tool_python
import requests
from language_tool_python.exceptions import LanguageToolError

MISMATCHES = []


def mismatch(text):
    if text in MISMATCHES:
        return
    MISMATCHES.append(text)
    print("MISMATCH:", text, flush=True)


def fail(text, payload=None):
    print("FAIL:", text, file=sys.stderr)
    if payload is not None:
        print(json.dumps(payload, ensure_ascii=False, indent=1), file=sys.stderr)
    sys.exit(1)


def check(cond, text, payload=None):
    if not cond:
        fail(text, payload)


def utf16_slice(text, offset, length):
    """The part of `text` at [offset, offset + length) in UTF-16 code units."""
    units = text.encode("utf-16-le")
    check(0 <= offset and offset + length <= len(units) // 2, f"span {offset}+{length} outside {text!r}")
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le")


def utf16_to_index(text, offset):
    """The Python (code point) index of UTF-16 offset `offset` in `text`."""
    at = 0
    for i, c in enumerate(text):
        if at == offset:
            return i
        at += 2 if ord(c) > 0xFFFF else 1
    check(at == offset, f"UTF-16 offset {offset} splits a character of {text!r}")
    return len(text)


def has_cyrillic(text):
    return any("CYRILLIC" in unicodedata.name(c, "") for c in text)


class TokenLanguageTool(language_tool_python.LanguageTool):
    """The client with a token: LanguageTool's `apiKey` (and `username`) form fields, which
    sufler's /v2/check accepts. language_tool_python 3.x sends neither and sets no headers."""

    def __init__(self, *args, api_key=None, **kwargs):
        self._api_key = api_key
        super().__init__(*args, **kwargs)

    def _create_params(self, text):
        params = super()._create_params(text)
        if self._api_key:
            params["apiKey"] = self._api_key
            params["username"] = "lt-client-test"
        return params


def raw_check(url, text, token=None, **extra):
    """POST /v2/check as the client does (form body), returning status and JSON."""
    data = {"language": "ru-RU", "text": text, **extra}
    if token:
        data["apiKey"] = token
    r = requests.post(url.rstrip("/") + "/v2/check", data=data, timeout=60)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, r.text


MATCH_FIELDS = {
    "message": str,
    "shortMessage": str,
    "replacements": list,
    "offset": int,
    "length": int,
    "context": dict,
    "sentence": str,
    "type": dict,
    "rule": dict,
    "ignoreForIncompleteSentence": bool,
    "contextForSureMatch": int,
}


def check_raw_shape(body):
    for key in ("software", "language", "matches"):
        check(key in body, f"/v2/check answer lacks {key!r}", body)
    check(body["software"].get("apiVersion") == 1, "software.apiVersion is not 1", body)
    check(body["language"].get("code") == "ru-RU", "language.code is not ru-RU", body)
    check("detectedLanguage" in body["language"], "language.detectedLanguage missing", body)
    for m in body["matches"]:
        for key, kind in MATCH_FIELDS.items():
            check(isinstance(m.get(key), kind), f"match field {key!r} missing or not {kind.__name__}", m)
        for key in ("id", "description", "issueType", "category"):
            check(key in m["rule"], f"rule.{key} missing", m)
        check({"id", "name"} <= set(m["rule"]["category"]), "rule.category needs id and name", m)
        check({"text", "offset", "length"} <= set(m["context"]), "context needs text, offset, length", m)
        check("typeName" in m["type"], "type.typeName missing", m)
        for r in m["replacements"]:
            check(isinstance(r.get("value"), str), "replacement without a string value", m)
    if "warnings" not in body:
        mismatch("/v2/check has no top-level `warnings: {incompleteResults: false}` (LanguageTool sends it; "
                 "language_tool_python does not read it, some browser add-ons do)")


def zero_length(m):
    """LanguageTool never answers a zero-length match (nothing to underline in its add-ons)."""
    note = (f"zero-length match `{m['rule']['id']}` (an insertion, replacement {[r['value'] for r in m['replacements']]}):"
            " LanguageTool UIs cannot underline it; LanguageTool marks the word before instead")
    if note not in MISMATCHES:
        mismatch(note)


def check_spans(text, raw_matches):
    """Every raw match's span, in UTF-16 units, is the same text in the draft and in its context."""
    for m in raw_matches:
        in_text = utf16_slice(text, m["offset"], m["length"])
        ctx = m["context"]
        in_context = utf16_slice(ctx["text"], ctx["offset"], ctx["length"])
        if m["length"] == 0:
            zero_length(m)
        check(in_text == in_context, f"span {in_text!r} in the text but {in_context!r} in the context", m)
        # The match's own sentence (cut to 200 characters around it when longer), as LanguageTool.
        sentence = m["sentence"]
        check(sentence in text and in_text in sentence and len(sentence) <= 200,
              "sentence is not the match's sentence of the checked text", m)


def client_span(text, match):
    """What a client match points at: language_tool_python turns `offset` into a code point index
    but leaves `error_length` in UTF-16 units, so convert the end ourselves."""
    start = match.offset
    end_utf16 = len(text[:start].encode("utf-16-le")) // 2 + match.error_length
    return text[start : utf16_to_index(text, end_utf16)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--token")
    args = ap.parse_args()
    url, token = args.url.rstrip("/"), args.token
    print(f"language_tool_python {version('language_tool_python')}"
          f" against {url} ({'token' if token else 'dev mode'})", flush=True)

    tool = TokenLanguageTool("ru-RU", remote_server=url, api_key=token)
    check(str(tool.language) == "ru-RU", f"client language is {tool.language}, not ru-RU")
    check(tool.url == url + "/v2/", f"client url {tool.url}")

    # 1. The rude draft.
    draft = "привет, щас гляну твой заказ!!! подожди"
    status, body = raw_check(url, draft, token)
    check(status == 200, f"/v2/check answered {status}", body)
    check_raw_shape(body)
    check_spans(draft, body["matches"])
    matches = tool.check(draft)
    check(len(matches) == len(body["matches"]) and matches, "the client read no matches", body)
    ids = {m.rule_id for m in matches}
    print("rules:", sorted(ids), flush=True)
    check("polite-you" in ids, "no polite-you match for «твой»", body)
    for m in matches:
        check(has_cyrillic(m.message), f"message of {m.rule_id} is not Russian: {m.message!r}")
        check(m.category.startswith("SUFLER"), f"category {m.category!r}")
        check(m.rule_issue_type in {"style", "grammar", "misspelling", "typographical"}, f"issueType {m.rule_issue_type}")
        check(client_span(draft, m) == m.matched_text, f"{m.rule_id}: client span {client_span(draft, m)!r} vs "
              f"context span {m.matched_text!r}")
    polite = [m for m in matches if m.rule_id == "polite-you"]
    check(any(client_span(draft, m).lower() == "твой" for m in polite), "polite-you does not point at «твой»",
          [str(m) for m in polite])
    check(any("Ваш" in m.replacements or "ваш" in m.replacements for m in polite),
          "polite-you offers no «ваш»", [m.replacements for m in polite])
    check(any(m.replacements for m in matches), "no match has replacements")
    bangs = [m for m in matches if "!!!" in client_span(draft, m)]
    check(bangs, "the «!!!» has no match", [str(m) for m in matches])
    corrected = tool.correct(draft)
    print("correct():", corrected, flush=True)
    check(corrected != draft and "твой" not in corrected, f"correct() left the draft as it was: {corrected!r}")

    # 2. An emoji (two UTF-16 units, one Python character) before the issue.
    emoji = "😀 ты где?"
    status, body = raw_check(url, emoji, token)
    check(status == 200, f"/v2/check answered {status}", body)
    check_raw_shape(body)
    check_spans(emoji, body["matches"])
    raw_you = [m for m in body["matches"] if m["rule"]["id"] == "polite-you"]
    check(raw_you, "no polite-you match in «😀 ты где?»", body)
    check(raw_you[0]["offset"] == 3 and raw_you[0]["length"] == 2,
          "«ты» must be at UTF-16 offset 3, length 2 (the emoji counts two)", raw_you[0])
    check(utf16_slice(emoji, 3, 2) == "ты" and emoji[2:4] == "ты", "test text")
    raw_emoji = [m for m in body["matches"] if m["rule"]["id"] == "emoji"]
    if raw_emoji:
        check(raw_emoji[0]["offset"] == 0 and raw_emoji[0]["length"] == 2, "the emoji spans 2 UTF-16 units", raw_emoji)
    matches = tool.check(emoji)
    you = [m for m in matches if m.rule_id == "polite-you"]
    check(you and you[0].offset == 2, "the client must turn UTF-16 offset 3 into index 2",
          [str(m) for m in matches])
    check(emoji[you[0].offset : you[0].offset + you[0].error_length] == "ты", "client slice of «ты»")

    # 3. An emoji between two issues, and a supplementary character in the context.
    mixed = "Привет 👍🏻 ты щас где?"
    status, body = raw_check(url, mixed, token)
    check(status == 200, f"/v2/check answered {status}", body)
    check_spans(mixed, body["matches"])
    raw_spans = [(m["rule"]["id"], utf16_slice(mixed, m["offset"], m["length"])) for m in body["matches"]]
    client_spans = [(m.rule_id, client_span(mixed, m)) for m in tool.check(mixed)]
    check(raw_spans == client_spans and any(r == "emoji" for r, _ in raw_spans),
          f"client spans {client_spans} differ from the raw UTF-16 spans {raw_spans}")
    print("emoji spans:", raw_spans, flush=True)
    print("emoji texts: ok", flush=True)

    # 4. Rule selection as the client sends it.
    tool.disabled_rules = {"polite-you"}
    ids = {m.rule_id for m in tool.check(draft)}
    check("polite-you" not in ids and ids, f"disabled_rules ignored: {sorted(ids)}")
    tool.disabled_rules = set()
    tool.enabled_rules = {"polite-you"}
    tool.enabled_rules_only = True
    ids = {m.rule_id for m in tool.check(draft)}
    check(ids == {"polite-you"}, f"enabled_rules_only gave {sorted(ids)}")
    tool.enabled_rules, tool.enabled_rules_only = set(), False
    tool.picky = True
    tool.mother_tongue = "ru"
    tool.preferred_variants = {"ru-RU"}
    check(tool.check(draft), "extra form fields (level, motherTongue, preferredVariants) broke the check")
    tool.picky, tool.mother_tongue, tool.preferred_variants = False, None, set()

    # Categories: the client's disable_spellchecking() sends disabledCategories=TYPOS.
    misspelled = "Здравствуйте! Ваш заказ уже в пути, ожидайте пожалуйсто до завтра."
    spelled = {m.rule_id: m.category for m in tool.check(misspelled)}
    tool.disable_spellchecking()
    after = {m.rule_id for m in tool.check(misspelled)}
    tool.enable_spellchecking()
    if "spelling" in spelled and "spelling" in after:
        mismatch(f"disable_spellchecking() (disabledCategories=TYPOS) does not turn off `spelling` "
                 f"(its category is {spelled['spelling']!r}; the server ignores disabledCategories)")
    elif "spelling" not in spelled:
        print(f"note: «пожалуйсто» gave no spelling match ({sorted(spelled)}); category check not exercised")
    tool.disabled_categories = {"SUFLER_A"}
    after = {m.rule_id for m in tool.check(draft)}
    tool.disabled_categories = set()
    if "polite-you" in after:
        mismatch("disabled_categories (disabledCategories=SUFLER_A) is ignored by the server")

    # 5. Languages: only Russian is offered, so the client refuses others before any check.
    try:
        tool.language = "en-US"
        fail(f"the client accepted en-US: {tool.language}")
    except ValueError:
        pass
    tool.language = "ru"
    check(str(tool.language) == "ru", f"'ru' normalised to {tool.language}")
    check(tool.check(draft), "language=ru gave no matches")

    # 6. Errors as the client sees them.
    status, body = raw_check(url, "x" * 6000, token)
    check(status == 422, f"over-long text answered {status}", body)
    try:
        tool.check("x" * 6000)
        fail("the client read an over-long text's error as a success")
    except LanguageToolError:
        pass
    except KeyError:
        mismatch("an error answer (JSON {\"error\":…} with 4xx) reaches language_tool_python as "
                 "KeyError('matches'), not LanguageToolError: LanguageTool answers errors as text/plain")

    if token:
        bare = language_tool_python.LanguageTool("ru-RU", remote_server=url)
        try:
            got = bare.check(draft)
            fail(f"a client without a token got {len(got)} matches")
        except KeyError:
            print("no token: refused (the client raises KeyError('matches') on the 401 JSON body)")
        except LanguageToolError:
            print("no token: refused (LanguageToolError)")
        # Basic auth from the URL (http://user:TOKEN@host) is what `requests` sends when the URL
        # has credentials: the only way to authenticate without subclassing.
        host = url.split("://", 1)[1]
        basic = language_tool_python.LanguageTool("ru-RU", remote_server=f"http://sufler:{token}@{host}")
        try:
            basic.check(draft)
            print("token in the URL (Basic auth): accepted")
        except (KeyError, LanguageToolError):
            mismatch("a token in the server URL (http://user:TOKEN@host → Authorization: Basic) is refused: "
                     "language_tool_python can authenticate only through a subclass sending apiKey")

    print(f"lt_client: ok ({len(MISMATCHES)} mismatch(es) reported)")
    for m in MISMATCHES:
        print("  -", m)


if __name__ == "__main__":
    main()
